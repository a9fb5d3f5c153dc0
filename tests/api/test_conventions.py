"""Shared API conventions: error body, validation, size limit, request ids, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import User
from tests import factories as f
from tests.conftest import App


def _error(r: httpx.Response) -> dict[str, object]:
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    return body["error"]  # type: ignore[no-any-return]


async def test_unknown_json_fields_are_rejected(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/auth/otp", json={"phone": "13800138000", "role": "platform_admin"})
    assert r.status_code == 422
    err = _error(r)
    assert err["code"] == "request.invalid"
    fields = err["details"]["fields"]  # type: ignore[index]
    assert fields[0]["loc"] == ["body", "role"]
    assert fields[0]["type"] == "extra_forbidden"


async def test_malformed_json_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/auth/otp", content=b'{"phone": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert _error(r)["code"] == "request.invalid"


async def test_body_over_one_mib_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"phone": "' + b"1" * (1024 * 1024 + 10) + b'"}'
    r = await client.post("/v1/auth/otp", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert _error(r)["code"] == "request.too_large"


async def test_streamed_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"phone": "'
        for _ in range(20):
            yield b"1" * 65536
        yield b'"}'

    r = await client.post("/v1/auth/otp", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert _error(r)["code"] == "request.too_large"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "app-7f3a"})
    assert r.headers["X-Request-ID"] == "app-7f3a"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["X-Request-ID"] != "bad id with spaces"
    assert len(r.headers["X-Request-ID"]) == 32
    r = await client.get("/v1/nowhere")
    assert r.status_code == 404
    assert _error(r)["code"] == "request.not_found"
    assert "X-Request-ID" in r.headers


async def test_method_not_allowed_uses_error_body(client: httpx.AsyncClient) -> None:
    r = await client.put("/v1/me")  # GET, PATCH and DELETE (account deletion) exist
    assert r.status_code == 405
    assert _error(r)["code"] == "request.method_not_allowed"


async def test_readyz_checks_database_and_redis(app: App) -> None:
    r = await app.client.get("/readyz")
    assert r.status_code == 200
    checks = r.json()["checks"]
    assert checks["database"] == "ok"
    if app.runtime.redis is not None:
        assert checks["redis"] == "ok"
    else:
        assert "redis" not in checks


async def test_readyz_reports_unreachable_redis(app: App) -> None:
    from redis.asyncio import Redis

    app.runtime.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        r = await app.client.get("/readyz")
    finally:
        await app.runtime.redis.aclose()
    assert r.status_code == 503
    assert r.json()["checks"]["redis"].startswith("error")


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'linli_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/communities/abc",
        "/v1/communities/0",
        "/v1/communities/-5",
        "/v1/communities/99999999999999999999999999",
        "/v1/communities/1e3",
    ],
)
async def test_garbage_ids_are_422(client: httpx.AsyncClient, db: AsyncSession, path: str) -> None:
    u = await f.user(db)
    r = await client.get(path, headers=f.auth(u))
    assert r.status_code == 422
    assert _error(r)["code"] == "request.invalid"


async def test_sql_and_html_are_stored_literally(client: httpx.AsyncClient, db: AsyncSession) -> None:
    u = await f.user(db)
    nasty = "Robert'); DROP TABLE user_account;--<script>alert(1)</script>"
    r = await client.patch("/v1/me", json={"name": nasty[:50]}, headers=f.auth(u))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == nasty[:50]
    await db.refresh(u)
    stored = await db.get(User, u.id)
    assert stored is not None and stored.name == nasty[:50]


async def test_other_communitys_record_is_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    mine = await f.community(db)
    other = await f.community(db)
    h = await f.household(db, await f.building(db, mine))
    u = await f.resident(db, h)
    assert (await client.get(f"/v1/communities/{mine.id}", headers=f.auth(u))).status_code == 200
    r = await client.get(f"/v1/communities/{other.id}", headers=f.auth(u))
    assert r.status_code == 404
    assert _error(r)["code"] == "community.not_found"
    r = await client.get(f"/v1/communities/{other.id}/buildings", headers=f.auth(u))
    assert r.status_code == 404


async def test_request_id_on_every_log_line_and_in_a_500_body(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from services.auth import service as auth_service
    from services.logs import RequestIdFilter

    async def broken(*_args: object, **_kwargs: object) -> None:
        logging.getLogger("services.auth").warning("about to fail")
        raise RuntimeError("a bug")

    monkeypatch.setattr(auth_service, "request_otp", broken)
    caplog.handler.addFilter(RequestIdFilter())  # what services.logs.configure puts on the real handler
    with caplog.at_level(logging.INFO):
        r = await client.post(
            "/v1/auth/otp", json={"phone": "13800138000"}, headers={"X-Request-ID": "rq-500"}
        )
    assert r.status_code == 500
    assert _error(r)["code"] == "request.internal"
    assert r.json()["error"]["request_id"] == "rq-500"
    # Every server-side line (httpx's is the test client's own, outside the request).
    server = [rec for rec in caplog.records if rec.name != "httpx"]
    messages = {rec.getMessage(): getattr(rec, "request_id", None) for rec in server}
    assert messages["about to fail"] == "rq-500"
    assert messages["unhandled error"] == "rq-500"
    assert [rid for msg, rid in messages.items() if msg.startswith("POST /v1/auth/otp 500")] == ["rq-500"]
    assert all(rid == "rq-500" for rid in messages.values()), messages
    # Outside a request the id is gone again.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "after", None, None)
    assert RequestIdFilter().filter(record) and record.request_id is None
