"""Notice jobs for the scheduler: publish due scheduled notices, close publicity windows, expire.

Each runs in its own unit of work (new deliveries go to the relay after commit) and is safe to repeat.
"""

from __future__ import annotations

from services.bootstrap import Resources
from services.notices import jobs


async def publish_due(resources: Resources) -> int:
    """Scheduled notices whose time has come → published; returns how many."""
    async with resources.unit() as session:
        return await jobs.publish_due(session)


async def close_windows(resources: Resources) -> int:
    """Record the outcome of publicity windows that have closed; returns how many."""
    async with resources.unit() as session:
        return await jobs.close_publicity_windows(session)


async def expire_notices(resources: Resources) -> int:
    """Published notices past their expiry → expired; returns how many."""
    async with resources.unit() as session:
        return await jobs.expire_notices(session)
