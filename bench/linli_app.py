"""uvicorn factory for the real Linli app, as `linli serve` builds it, with two bench knobs.

BENCH_LOG_LEVEL (default WARNING): `linli serve` logs at INFO, which writes one access line per
request (linli.access); WARNING measures the app without it.
BENCH_POOL_PRE_PING (default 0, the app's setting since issue 17: no ping, a dead connection's first
statement is retried in services/db.py): 1 builds the engine with SQLAlchemy's per-checkout ping, to
measure what those round trips cost.
BENCH_POOL_SIZE (default: the app's pool_size=10, max_overflow=20): N builds pool_size=N, max_overflow=0,
so no connection is closed on return and reopened for the next request.
The app's code is not changed either way.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from api.main import create_app
from services.bootstrap import build_resources
from services.config import get_settings
from services.db import create_engine
from services.logs import configure as configure_logs


def create() -> FastAPI:
    settings = get_settings()
    configure_logs(settings.json_logs, level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    options: dict[str, Any] = {}
    if os.environ.get("BENCH_POOL_PRE_PING", "0") == "1":
        options["pool_pre_ping"] = True
    if os.environ.get("BENCH_POOL_SIZE"):
        options.update(pool_size=int(os.environ["BENCH_POOL_SIZE"]), max_overflow=0)
    if not options:
        return create_app(settings)
    engine = create_engine(settings.database_url, **options)
    return create_app(settings, build_resources(settings, engine=engine))
