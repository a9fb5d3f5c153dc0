"""create_app(): lifespan, middleware, routers, error handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.middleware import RequestContextMiddleware
from api.routes import auth, claims, communities, companies, directory, health, me, notifications
from services.bootstrap import Resources, build_resources
from services.config import Settings, get_settings
from workers.runner import run_forever


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        res = resources or build_resources(settings)
        app.state.resources = res
        app.state.sessionmaker = res.sessionmaker
        app.state.runtime = res.runtime
        stop = asyncio.Event()
        worker = (
            asyncio.create_task(run_forever(res, stop), name="embedded-worker")
            if settings.embedded_worker
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            if resources is None:
                await res.close()

    app = FastAPI(
        title="Linli 邻里 API",
        version="0.1.0",
        description="Smart property management for renovated communities (red property).",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    for module in (health, auth, me, communities, notifications, companies, claims, directory):
        app.include_router(module.router)
    return app
