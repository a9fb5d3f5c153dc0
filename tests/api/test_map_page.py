"""One map, item 4: the page GET /map in a headless Chromium with the network cut off — it loads
with no console errors, the demo street-office officer logs in with the demo password, the district's
eight communities are drawn, clicking one opens its panel. The screenshot is kept under
var/test-artifacts/map/ (git-ignored). Chromium is driven over its DevTools protocol (websockets, which
uvicorn[standard] installs), the server runs in the test's event loop over the test's transaction."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from websockets.asyncio.client import ClientConnection, connect

from api.main import create_app
from services import demo, demo_map
from services.bootstrap import Resources
from services.config import Settings
from services.kpis import jobs
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests.servers import unavailable

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "map"
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


async def test_page_assets_come_from_the_app(client: httpx.AsyncClient) -> None:
    r = await client.get("/map", headers={"Accept-Language": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in r.text and 'data-tile-url=""' in r.text
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
    assert all(a.startswith("/map/static/") or a.startswith("data:") for a in assets), assets
    for asset in (a for a in assets if a.startswith("/")):
        got = await client.get(asset)
        assert got.status_code == 200 and len(got.content) > 1000, asset
    assert b"Leaflet" in (await client.get("/map/static/leaflet.js")).content
    assert (await client.get("/map/static/LICENSE-leaflet.txt")).status_code == 200
    assert (await client.get("/map")).text.startswith('<!doctype html>\n<html lang="zh-CN">')


class Cdp:
    """The few DevTools calls the test needs, and the console errors seen meanwhile."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.errors: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.pending:
                self.pending.pop(msg["id"]).set_result(msg)
            elif msg.get("method") == "Runtime.consoleAPICalled" and msg["params"]["type"] in (
                "error",
                "assert",
            ):
                self.errors.append(json.dumps(msg["params"]["args"])[:500])
            elif msg.get("method") == "Runtime.exceptionThrown":
                self.errors.append(json.dumps(msg["params"]["exceptionDetails"])[:500])
            elif msg.get("method") == "Log.entryAdded" and msg["params"]["entry"]["level"] == "error":
                self.errors.append(json.dumps(msg["params"]["entry"])[:500])

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        i = next(self.ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[i] = fut
        await self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        msg = await asyncio.wait_for(fut, 15)
        assert "error" not in msg, msg
        return msg["result"]

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def until(self, expression: str, seconds: float = 10) -> Any:
        """Poll in the page (setTimeout), not here: the test's clock is time-machine's."""
        poll = (
            f"new Promise(resolve => {{ const end = Date.now() + {int(seconds * 1000)};"
            f" (function poll() {{ const v = ({expression}); if (v || Date.now() > end) resolve(v || null);"
            " else setTimeout(poll, 50); })(); })"
        )
        result = await self.call("Runtime.evaluate", expression=poll, returnByValue=True, awaitPromise=True)
        value = result["result"].get("value")
        assert value, f"timed out waiting for {expression}; console errors: {self.errors}"
        return value


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[int]:
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
    app = create_app(settings, Resources(engine=engine, sessionmaker=maker, runtime=runtime))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # The app's lifespan here, not uvicorn's: its shutdown would wait on the browser's keep-alive.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    async with app.router.lifespan_context(app):
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(100):
                if server.started:
                    break
                await asyncio.sleep(0.05)
            yield sock.getsockname()[1]
        finally:
            server.should_exit = server.force_exit = True
            await asyncio.wait_for(task, 10)
            sock.close()


@contextlib.asynccontextmanager
async def chromium(browser: str) -> AsyncIterator[Cdp]:
    with tempfile.TemporaryDirectory(prefix="linli-chromium-") as profile:
        # A plain Popen (asyncio's child watcher does not see it exit under the test's loop), its log
        # read by a thread so a full pipe never stalls the browser.
        proc = subprocess.Popen(  # noqa: S603, ASYNC220  (starts at once; see above)
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the network is cut off
                "--window-size=1280,800", "--remote-debugging-port=0", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        found: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if m := LISTENING.search(line):
                    found.put(m.group(1))

        threading.Thread(target=read, daemon=True).start()
        try:
            url = await asyncio.to_thread(found.get, True, 20)
            port = url.split(":")[2].split("/")[0]
            async with httpx.AsyncClient() as http:
                pages = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
            target = next(p for p in pages if p["type"] == "page")
            async with connect(target["webSocketDebuggerUrl"], max_size=50_000_000) as ws:
                cdp = Cdp(ws)
                for domain in ("Runtime", "Log", "Page"):
                    await cdp.call(f"{domain}.enable")
                yield cdp
                cdp.reader.cancel()
        finally:
            proc.kill()
            proc.wait(10)


async def test_the_officer_logs_in_and_opens_a_community(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    browser = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if browser is None:
        unavailable("chromium-headless-shell is not installed (.ci/run installs it)")
        return
    await demo.seed(settings, sessionmaker)
    await jobs.rollup(db)
    await db.commit()
    names = {c[0] for c in demo_map.COMMUNITIES}
    async with serve(settings, engine, sessionmaker) as port, chromium(str(browser)) as cdp:
        await cdp.call("Page.navigate", url=f"http://127.0.0.1:{port}/map")
        await cdp.until("!!document.getElementById('login')")
        await cdp.js(
            f"document.getElementById('phone').value = {json.dumps(demo_map.STREET_OFFICE_PHONE)};"
            f"document.getElementById('password').value = {json.dumps(demo.DEMO_PASSWORD)};"
            "document.getElementById('login').requestSubmit(); true"
        )
        await cdp.until("document.getElementById('app').dataset.loaded === '1'")
        assert await cdp.js("document.getElementById('map').dataset.communities") == str(len(names))
        # One outline and one point per community, each tagged with its id; every name is labelled.
        assert await cdp.js("document.querySelectorAll('path[data-community]').length") == 2 * len(names)
        labels = await cdp.js("[...document.querySelectorAll('.leaflet-tooltip')].map(x => x.textContent)")
        assert set(labels) == names
        assert await cdp.js("sessionStorage.getItem('linli.map.token') !== null")
        # A red community's outline is drawn red (the worst KPI colour).
        fills = await cdp.js(
            "[...document.querySelectorAll('path[data-community]')].map(p => p.getAttribute('fill'))"
        )
        assert {"#43a047", "#e53935", "#ffb300", "#9e9e9e"} <= set(fills)
        # Click the middle of the first outline: its panel opens with the community's details.
        box = await cdp.js(
            "(() => { const r = document.querySelector('path[data-community]').getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2 + 12,"
            " document.querySelector('path[data-community]').dataset.community]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await cdp.call(
                "Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1
            )
        await cdp.until("document.getElementById('panel').dataset.community")
        assert await cdp.js("document.getElementById('panel').hidden") is False
        assert await cdp.js("document.getElementById('panel').dataset.community") == box[2]
        heading = await cdp.js("document.querySelector('#panel h2').textContent")
        assert heading in names
        panel = await cdp.js("document.getElementById('panel').textContent")
        assert "网格员" in panel and "****" in panel and "上月指标" in panel
        # The filters: only the communities with a missed KPI.
        await cdp.js(
            "const s = document.getElementById('filter-status'); s.value = 'red';"
            "s.dispatchEvent(new Event('change')); true"
        )
        red = int(await cdp.js("document.getElementById('map').dataset.communities"))
        assert 0 < red < len(names)
        await cdp.js(
            "const t = document.getElementById('filter-status'); t.value = '';"
            "t.dispatchEvent(new Event('change')); true"
        )
        await cdp.until("!document.querySelector('.leaflet-zoom-anim')")
        shot = await cdp.call("Page.captureScreenshot", format="png")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "page.png").write_bytes(base64.b64decode(shot["data"]))
        assert cdp.errors == []
