"""KPI roll-up job: snapshots of closed periods, late changes re-counted, below-target alerts.

Schedule it every few minutes; it is safe to repeat and cheap when nothing changed (one indexed
scan of new ticket events plus a few small queries per community).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import col, select

from services.bootstrap import Resources
from services.kpis import jobs
from services.models import Community


async def rollup_kpis(resources: Resources, progress: Callable[[int, int], None] | None = None) -> int:
    """Roll up every community, one transaction each; returns the snapshot rows written.
    `progress(done, total)` is told after each community (the CLI's progress bar)."""
    async with resources.sessionmaker() as session:
        ids = list(
            (await session.exec(select(Community.id).where(col(Community.deleted_at).is_(None)))).all()
        )
    written = 0
    for done, cid in enumerate(ids, 1):
        if cid is not None:
            async with resources.unit() as session:
                written += (await jobs.rollup(session, community_ids=[cid])).snapshots
        if progress is not None:
            progress(done, len(ids))
    return written
