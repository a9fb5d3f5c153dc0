"""Scheduler jobs: devices silent beyond their heartbeat interval go offline (services/alarms/presence.py), and
the escalation stages of unacknowledged alarms (services/alarms/routing.py)."""

from __future__ import annotations

from services.alarms import presence
from services.bootstrap import Resources
from services.models import utcnow


async def sweep_presence(resources: Resources) -> int:
    async with resources.unit() as session:
        return await presence.sweep_offline(session, utcnow())


async def sweep_escalations(resources: Resources) -> int:
    """Send the due escalation stages of unacknowledged alarms, each once (services/alarms/routing.py)."""
    from services.alarms import routing

    async with resources.unit() as session:
        return await routing.sweep_escalations(session, utcnow())
