"""What runs beside the API: the relay to the broker and, in the embedded default, the worker and
scheduler themselves (in-memory broker, same event loop)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from services.bootstrap import Resources
from workers.broker import kick, make_broker
from workers.jobs import LocalFanouts
from workers.runner import run_scheduler, run_worker


@asynccontextmanager
async def background(resources: Resources, embedded: bool) -> AsyncIterator[None]:
    settings = resources.runtime.settings
    fanouts = LocalFanouts(resources)
    resources.runtime.fanout_relay = fanouts
    if not embedded and not settings.redis_url:
        # No broker to hand to: the API only writes rows; a scheduler's sweeper finds them.
        try:
            yield
        finally:
            resources.runtime.fanout_relay = None
            await fanouts.close()
        return
    broker = make_broker(settings)
    resources.runtime.relay = partial(kick, broker)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if embedded:
        tasks.append(asyncio.create_task(run_worker(resources, broker, stop), name="embedded-worker"))
        tasks.append(asyncio.create_task(run_scheduler(resources, broker, stop), name="embedded-scheduler"))
    else:
        await broker.startup()
    try:
        yield
    finally:
        resources.runtime.fanout_relay = None
        await fanouts.close()
        resources.runtime.relay = None
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not embedded:
            await broker.shutdown()
