"""Refresh-token rotation with a grace window: a retried or doubled refresh from the same client gets a
pair, a rotated token that comes back later (or from another client) still revokes the family."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.auth import service as auth_service
from services.config import Settings
from services.db import session_factory, transaction
from services.models import RateLimitWindow, RefreshToken, User
from services.runtime import Ctx
from tests import factories as f
from tests.conftest import App, committed_client

pytestmark = pytest.mark.calendar

PASSWORD = "staff-password-123"
APP_UA = {"User-Agent": "LinliApp/2.1 (iPhone; iOS 18.1)"}


async def _login(client: httpx.AsyncClient, phone: str) -> dict[str, str]:
    r = await client.post("/v1/auth/login", json={"phone": phone, "password": PASSWORD}, headers=APP_UA)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _refresh(client: httpx.AsyncClient, token: str, headers: dict[str, str] = APP_UA) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": token}, headers=headers)


async def _rows(db: AsyncSession, user_id: int | None) -> list[RefreshToken]:
    db.expire_all()
    return list((await db.exec(select(RefreshToken).where(RefreshToken.user_id == user_id))).all())


async def test_lost_response_retry_within_grace_gets_a_working_pair(app: App, db: AsyncSession) -> None:
    u = await f.user(db, password=PASSWORD)
    first = await _login(app.client, u.phone)
    r1 = await _refresh(app.client, first["refresh_token"])
    assert r1.status_code == 200, r1.text
    # The app never saw r1 (the 4G link dropped) and retries with the same token.
    r2 = await _refresh(app.client, first["refresh_token"])
    assert r2.status_code == 200, r2.text
    assert r2.json()["refresh_token"] not in (first["refresh_token"], r1.json()["refresh_token"])
    rows = await _rows(db, u.id)
    assert len(rows) == 3 and all(row.revoked_at is None for row in rows)
    assert len({row.family_id for row in rows}) == 1
    # The pair the app finally holds works, and so does the one it lost.
    me = await app.client.get("/v1/me", headers={"Authorization": f"Bearer {r2.json()['access_token']}"})
    assert me.status_code == 200
    assert (await _refresh(app.client, r2.json()["refresh_token"])).status_code == 200
    assert (await _refresh(app.client, r1.json()["refresh_token"])).status_code == 200


async def test_reuse_after_the_window_revokes_the_family(
    app: App, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    u = await f.user(db, password=PASSWORD)
    first = await _login(app.client, u.phone)
    second = (await _refresh(app.client, first["refresh_token"])).json()
    frozen_clock.shift(app.settings.refresh_reuse_grace_seconds + 1)
    r = await _refresh(app.client, first["refresh_token"])
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.refresh_token_reused"
    assert (await _refresh(app.client, second["refresh_token"])).status_code == 401
    rows = await _rows(db, u.id)
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)


async def test_reuse_from_another_client_within_the_window_revokes_the_family(
    app: App, db: AsyncSession
) -> None:
    u = await f.user(db, password=PASSWORD)
    first = await _login(app.client, u.phone)
    second = (await _refresh(app.client, first["refresh_token"])).json()
    r = await _refresh(app.client, first["refresh_token"], headers={"User-Agent": "curl/8.5"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.refresh_token_reused"
    assert (await _refresh(app.client, second["refresh_token"])).status_code == 401
    assert all(row.revoked_at is not None for row in await _rows(db, u.id))


async def test_a_revoked_family_is_not_revived_within_the_window(app: App, db: AsyncSession) -> None:
    u = await f.user(db, password=PASSWORD)
    first = await _login(app.client, u.phone)
    second = (await _refresh(app.client, first["refresh_token"])).json()
    headers = {"Authorization": f"Bearer {second['access_token']}", **APP_UA}
    r = await app.client.post(
        "/v1/auth/logout", json={"refresh_token": second["refresh_token"]}, headers=headers
    )
    assert r.status_code == 204
    r = await _refresh(app.client, first["refresh_token"])
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.invalid_refresh_token"
    assert len(await _rows(db, u.id)) == 2


async def _cleanup(engine: AsyncEngine, user: User) -> None:
    async with session_factory(engine)() as s, transaction(s):
        await s.execute(sa.delete(RefreshToken).where(col(RefreshToken.user_id) == user.id))
        await s.execute(sa.delete(RateLimitWindow).where(col(RateLimitWindow.key).contains(user.phone)))
        await s.execute(sa.delete(User).where(col(User.id) == user.id))


async def test_two_concurrent_refreshes_both_succeed(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL both requests must have read the token before either rotates it: hold each at a
    # barrier just before its conditional UPDATE. SQLite (BEGIN IMMEDIATE) serialises the two, so the
    # second finds the token rotated a moment ago: the lost-response case.
    if engine.dialect.name == "postgresql":
        barrier = asyncio.Barrier(2)
        original = auth_service._claim_rotation
        held = 0

        async def claim_after_both_read(ctx: Ctx, token_id: int | None) -> bool:
            nonlocal held
            held += 1
            if held <= 2:  # only the two racing refreshes
                await asyncio.wait_for(barrier.wait(), timeout=10)
            return await original(ctx, token_id)

        monkeypatch.setattr(auth_service, "_claim_rotation", claim_after_both_read)
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        u = await f.user(s, password=PASSWORD)
    try:
        async with committed_client(settings, engine, maker) as client:
            first = await _login(client, u.phone)
            results = await asyncio.gather(
                _refresh(client, first["refresh_token"]), _refresh(client, first["refresh_token"])
            )
            assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
            pairs = [r.json() for r in results]
            assert pairs[0]["refresh_token"] != pairs[1]["refresh_token"]
            async with maker() as s:
                rows = list((await s.exec(select(RefreshToken).where(RefreshToken.user_id == u.id))).all())
            assert len(rows) == 3 and all(row.revoked_at is None for row in rows)
            assert sum(row.rotated_at is not None for row in rows) == 1
            for pair in pairs:
                me = await client.get("/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
                assert me.status_code == 200
                assert (await _refresh(client, pair["refresh_token"])).status_code == 200
    finally:
        await _cleanup(engine, u)
