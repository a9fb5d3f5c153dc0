"""Scheduler job: devices silent beyond their heartbeat interval go offline (services/alarms/presence.py)."""

from __future__ import annotations

from services.alarms import presence
from services.bootstrap import Resources
from services.models import utcnow


async def sweep_presence(resources: Resources) -> int:
    async with resources.unit() as session:
        return await presence.sweep_offline(session, utcnow())
