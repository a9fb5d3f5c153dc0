"""The worker loop: drains deliveries and runs periodic jobs until stopped.

In the embedded default it runs inside the API process; `linli worker` runs it on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.bootstrap import Resources
from services.db import transaction
from services.notifications.devices import prune_stale
from workers import jobs
from workers.channels.push import LogPushChannel, PushChannel
from workers.tasks.deliveries import drain_once

log = logging.getLogger("linli.worker")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[Resources], Awaitable[object]]


async def _prune_devices(resources: Resources) -> int:
    async with resources.sessionmaker() as session, transaction(session):
        return await prune_stale(session)


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("purge_expired_login_state", 300, jobs.purge_expired_login_state),
    PeriodicJob("prune_stale_devices", 6 * 3600, _prune_devices),
)


def build_push_channel(resources: Resources) -> PushChannel:
    settings = resources.runtime.settings
    if settings.fcm_credentials:
        from workers.channels.fcm import FcmChannel

        return FcmChannel(settings)  # type: ignore[no-any-return]
    return LogPushChannel()


async def drain_deliveries(resources: Resources, push: PushChannel) -> int:
    """Send everything that is due, batch after batch."""
    total = 0
    while True:
        stats = await drain_once(resources, push)
        total += stats.claimed
        if stats.claimed == 0:
            return total


async def run_forever(
    resources: Resources, stop: asyncio.Event, tick: float = 1.0, push: PushChannel | None = None
) -> None:
    loop = asyncio.get_running_loop()
    push = push or build_push_channel(resources)
    due = {job.name: loop.time() for job in JOBS}
    log.info("worker started: deliveries every %.1fs and %d periodic jobs", tick, len(JOBS))
    while not stop.is_set():
        try:
            await drain_deliveries(resources, push)
        except Exception:
            # The claim expires and another pass picks the rows up again.
            log.exception("delivery drain failed")
        for job in JOBS:
            if loop.time() < due[job.name]:
                continue
            due[job.name] = loop.time() + job.every_seconds
            try:
                result = await job.run(resources)
                log.debug("job %s done: %s", job.name, result)
            except Exception:
                # A failing job must not stop the others; it runs again at its next turn.
                log.exception("job %s failed", job.name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick)
    log.info("worker stopped")
