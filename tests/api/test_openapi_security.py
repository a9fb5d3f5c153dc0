"""The bearer JWT scheme: every protected operation says so, the public ones say they are public."""

from __future__ import annotations

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories as f
from tests.api.openapi_spec import operations, spec

BEARER = [{"bearerAuth": []}]
# Public: logging in, the probes, signed file URLs, the label catalogue, and the device doors (which
# authenticate each device by its own secret, not a user's token).
PUBLIC = {
    ("POST", "/v1/auth/otp"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/refresh"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/files/{attachment_id}"),
    ("HEAD", "/v1/files/{attachment_id}"),
    ("GET", "/v1/labels"),
}


def test_the_bearer_scheme_is_declared() -> None:
    scheme = spec()["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_every_operation_is_marked_protected_or_public() -> None:
    public = set()
    for method, path, op in operations():
        assert op["security"] in ([], BEARER), (method, path)
        if op["security"] == []:
            public.add((method, path))
        else:
            assert "auth.required" in op["responses"]["401"]["x-error-codes"], (method, path)
    doors = {(m, p) for m, p in public if p.startswith("/v1/alarm-ingest/")}
    assert doors, "the device doors are public (security: [])"
    assert public - doors == PUBLIC


async def test_the_marks_match_what_the_server_does(client: httpx.AsyncClient, db: AsyncSession) -> None:
    r = await client.get("/v1/tickets")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    u = await f.user(db)
    r = await client.get("/v1/me", headers=f.auth(u))
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/labels")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_swagger_ui_offers_authorize(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    # Swagger UI shows its Authorize button when the spec has a security scheme; keep the token
    # across reloads.
    assert '"persistAuthorization": true' in r.text
    published = (await client.get("/openapi.json")).json()
    assert "bearerAuth" in published["components"]["securitySchemes"]
