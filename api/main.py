"""create_app(): lifespan, middleware, routers, error handlers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from brotli_asgi import BrotliMiddleware
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import errors, openapi
from api.conditional import ConditionalGetMiddleware
from api.middleware import ALARM_INGEST_PATHS, UPLOAD_PATHS, RequestContextMiddleware
from api.routes import (
    activities,
    alarm_rules,
    alarms,
    auth,
    claims,
    communities,
    companies,
    consent,
    directory,
    duty,
    files,
    health,
    inspections,
    kpis,
    labels,
    map_page,
    maps,
    me,
    notices,
    notifications,
    occupants,
    polls,
    privacy,
    renovation,
    sla,
    tickets,
)
from api.timestamps import TimestampMiddleware
from services.bootstrap import Resources, build_resources
from services.config import Settings, get_settings
from services.tickets.sla import warm_calendar
from workers.embedded import background


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        res = resources or build_resources(settings)
        app.state.resources = res
        app.state.sessionmaker = res.sessionmaker
        app.state.read_sessionmaker = res.read_sessionmaker or res.sessionmaker
        app.state.runtime = res.runtime
        # The holiday calendar's first build costs ~0.25 s: pay it at start-up, off the event loop.
        await asyncio.to_thread(warm_calendar)
        # What start-up built lives as long as the process: keep it out of full collections, which
        # otherwise walk it every few hundred requests (measured: 150 ms pauses, the p99 of a dashboard).
        gc.freeze()
        async with background(res, settings.embedded_worker):
            yield
        if resources is None:
            await res.close()

    # Swagger UI and ReDoc from the assets fastapi-offline ships (no CDN, no Google Fonts): /docs loads
    # on a network that cannot reach a CDN.
    app = FastAPIOffline(
        title="Linli 邻里 API",
        version="0.1.0",
        description="Smart property management for renovated communities (red property).",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    errors.install(app)
    openapi.install(app)
    # Innermost first: ETag/304 over the JSON bytes, then compression of what goes out (brotli when
    # the app accepts it, else gzip; Vary: Accept-Encoding). Files are already compressed images/PDFs
    # and answer byte ranges, so they are never re-encoded.
    # Innermost of all: one time format in every JSON body (api/timestamps.py), before its ETag.
    app.add_middleware(TimestampMiddleware)
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(
        BrotliMiddleware,
        minimum_size=settings.compress_min_bytes,
        quality=4,
        excluded_handlers=[r"^/v1/files/", r"^/v1/map/communities\.png$"],
    )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        upload_paths=UPLOAD_PATHS,
        upload_max_bytes=settings.upload_max_body_bytes,
        path_limits=((ALARM_INGEST_PATHS, settings.alarm_ingest_max_body_bytes),),
    )
    # Starlette tries routes in order and every miss costs (about 1 µs a route, ~200 routes): the
    # hot routers come first. No path is matched by two modules (tests/api/test_route_order.py), so
    # the order decides speed only, never which route answers.
    for module in (
        health,
        me,
        tickets,
        notifications,
        notices,
        kpis,
        auth,
        consent,
        communities,
        occupants,
        companies,
        claims,
        directory,
        sla,
        files,
        inspections,
        duty,
        activities,
        polls,
        renovation,
        labels,
        alarms,
        privacy,
        alarm_rules,
        maps,
    ):
        app.include_router(module.router)
    # The one-map page and its vendored Leaflet (api/static/map): served by the app, no CDN.
    app.include_router(map_page.router)
    app.mount(map_page.STATIC_PATH, map_page.static_files(), name="map-static")
    return app
