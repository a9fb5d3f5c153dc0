"""KPI roll-up job: snapshots of closed periods, late changes re-counted, below-target alerts.

Schedule it every few minutes; it is safe to repeat and cheap when nothing changed (one indexed
scan of new ticket events plus a few small queries per community).
"""

from __future__ import annotations

from sqlmodel import col, select

from services.bootstrap import Resources
from services.kpis import jobs
from services.models import Community


async def rollup_kpis(resources: Resources) -> int:
    """Roll up every community, one transaction each; returns the snapshot rows written."""
    async with resources.sessionmaker() as session:
        ids = list(
            (await session.exec(select(Community.id).where(col(Community.deleted_at).is_(None)))).all()
        )
    written = 0
    for cid in ids:
        if cid is None:
            continue
        async with resources.unit() as session:
            written += (await jobs.rollup(session, community_ids=[cid])).snapshots
    return written
