"""SLA jobs: warnings and escalations, and closing resolved tickets nobody answered.

Both are safe to repeat and to run on several workers at once (see services.tickets.sla_sweep).
"""

from __future__ import annotations

from services.bootstrap import Resources
from services.db import transaction
from services.tickets import sla_sweep


async def sweep_sla(resources: Resources) -> int:
    """Warn at 80 % of a target, escalate on breach and again later; returns notices fired."""
    async with resources.sessionmaker() as session, transaction(session):
        return await sla_sweep.sweep(session)


async def auto_close_resolved(resources: Resources) -> int:
    """Close tickets resolved 3 days ago without an answer from the reporter; returns how many."""
    async with resources.sessionmaker() as session, transaction(session):
        return await sla_sweep.auto_close(session)
