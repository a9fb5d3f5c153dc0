"""Who hears of a new alarm (routing rules, the party member on duty, escalation stages).

helper 15b fills this: the lifecycle calls `on_alarm_raised` in the same transaction as the new alarm,
so anything queued here (outbox rows, escalation stages) commits or rolls back with it.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.alarms import Alarm


async def on_alarm_raised(session: AsyncSession, alarm: Alarm) -> None:
    """helper 15b fills this."""
    return None
