"""/docs and /redoc load without the internet: their assets come from the installed package."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import httpx
import uvicorn

from api.main import create_app
from services.config import Settings
from tests.servers import unavailable

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


async def _assets(client: httpx.AsyncClient, page: str) -> list[str]:
    r = await client.get(page)
    assert r.status_code == 200, r.text
    assert not EXTERNAL.search(r.text), f"{page} loads from another host: {EXTERNAL.findall(r.text)}"
    assert "fonts.googleapis" not in r.text and "cdn.jsdelivr" not in r.text
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)


async def test_swagger_ui_is_served_from_the_app(client: httpx.AsyncClient) -> None:
    assets = await _assets(client, "/docs")
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts and all(a.startswith("/") for a in assets)
    for asset in assets:
        r = await client.get(asset)
        assert r.status_code == 200, asset
        assert len(r.content) > 1000, asset
    r = await client.get(next(a for a in scripts if "swagger-ui-bundle" in a))
    assert b"SwaggerUIBundle" in r.content
    # The page points at the spec it renders, and keeps the bearer token across reloads.
    page = (await client.get("/docs")).text
    assert "/openapi.json" in page and '"persistAuthorization": true' in page


async def test_redoc_is_served_from_the_app(client: httpx.AsyncClient) -> None:
    assets = await _assets(client, "/redoc")
    for asset in assets:
        r = await client.get(asset)
        assert r.status_code == 200, asset
    assert any(a.endswith("redoc.standalone.js") for a in assets)


def test_a_browser_without_internet_sees_the_operations(settings: Settings) -> None:
    """Headless Chromium with every host but the loopback unresolvable renders /docs: the operations
    list is there, so nothing it needs comes from a CDN."""
    browser = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if browser is None:
        unavailable("chromium-headless-shell is not installed (.ci/run installs it)")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="linli-chromium-") as profile:
            done = subprocess.run(  # noqa: S603
                [
                    str(browser),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    f"--user-data-dir={profile}",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the network is cut off
                    "--virtual-time-budget=15000",
                    "--dump-dom",
                    f"http://127.0.0.1:{port}/docs",
                ],
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    dom = done.stdout
    assert "opblock" in dom, done.stderr[-2000:]
    assert "/v1/communities/{cid}/tickets" in dom and "Authorize" in dom
