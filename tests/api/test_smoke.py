from __future__ import annotations

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories as f


async def test_healthz_and_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"] == "abc-123"


async def test_me_needs_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.required"


async def test_me_shows_household(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c)
    h = await f.household(db, b, room="301", area="72.35")
    u = await f.resident(db, h)
    r = await client.get("/v1/me", headers=f.auth(u))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True
    assert body["households"][0]["room"] == "301"
    assert body["households"][0]["area_m2"] == "72.35"
