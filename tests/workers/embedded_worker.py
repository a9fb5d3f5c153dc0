"""The embedded worker and scheduler (as `linli serve` runs them beside the API, with the in-memory
broker) in a process of their own, for the crash tests: settings come from LINLI_* like the CLI's.

    python -m tests.workers.embedded_worker      # runs until SIGINT/SIGTERM (or SIGKILL)
"""

from __future__ import annotations

import asyncio
import logging
import signal

from services.bootstrap import build_resources
from services.config import Settings
from services.logs import configure
from workers.broker import make_broker
from workers.runner import run_scheduler, run_worker

log = logging.getLogger("linli.embedded_worker")


async def main() -> None:
    settings = Settings()
    resources = build_resources(settings)
    broker = make_broker(settings)  # in-memory unless LINLI_REDIS_URL is set
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(run_worker(resources, broker, stop), run_scheduler(resources, broker, stop))
    finally:
        await resources.close()


if __name__ == "__main__":
    configure(json_logs=False)
    asyncio.run(main())
