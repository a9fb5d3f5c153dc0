"""Poll jobs for the scheduler: open notices and closing (with the frozen result snapshot)."""

from __future__ import annotations

from services.bootstrap import Resources
from services.polls import jobs


async def close_polls(resources: Resources) -> int:
    """Close polls past their closing time and freeze their results; returns how many."""
    async with resources.unit() as session:
        return await jobs.close_due_polls(session)


async def announce_polls(resources: Resources) -> int:
    """Notify eligible residents of polls that have just opened; returns how many polls."""
    async with resources.unit() as session:
        return await jobs.announce_open_polls(session)
