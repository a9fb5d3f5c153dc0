"""The worker loop: runs periodic jobs until stopped. In the embedded default it runs inside the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.bootstrap import Resources
from workers import jobs

log = logging.getLogger("linli.worker")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[Resources], Awaitable[object]]


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("purge_expired_login_state", 300, jobs.purge_expired_login_state),
)


async def run_forever(resources: Resources, stop: asyncio.Event, tick: float = 1.0) -> None:
    loop = asyncio.get_running_loop()
    due = {job.name: loop.time() for job in JOBS}
    log.info("worker started with %d periodic jobs", len(JOBS))
    while not stop.is_set():
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
