"""A bug answers 500 in the error body, and the keep-alive connection stays usable for the next request.

Over a real uvicorn server: what matters is what the server does with the connection, which
httpx.ASGITransport does not show.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services.auth import service as auth_service
from services.bootstrap import Resources
from services.config import Settings
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime


def _client_port(r: httpx.Response) -> int | None:
    """The local port of the connection that carried `r`; None once that connection is closed."""
    try:
        return int(r.extensions["network_stream"].get_extra_info("client_addr")[1])
    except OSError:
        return None


async def test_a_500_keeps_the_connection_usable(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(auth_service, "request_otp", broken)
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
    app = create_app(settings, Resources(engine=engine, sessionmaker=sessionmaker, runtime=runtime))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections wait in the backlog until the server accepts them
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="critical", access_log=False))
    async with app.router.lifespan_context(app):
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                r = await client.post("/v1/auth/otp", json={"phone": "13800138000"})
                first = _client_port(r)
                assert r.status_code == 500
                assert r.json()["error"]["code"] == "request.internal"
                assert r.json()["error"]["message"]
                assert "x-request-id" in r.headers
                again = await client.get("/healthz")
                assert again.status_code == 200
                # The same connection carried both: the server did not close it after the 500.
                assert first is not None
                assert _client_port(again) == first
        finally:
            server.should_exit = True
            await serving
            sock.close()
