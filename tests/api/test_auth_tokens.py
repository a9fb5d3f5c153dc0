"""Password login for staff, JWT checks, refresh-token rotation and reuse detection, logout."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import jwt
import pytest
import time_machine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import RefreshToken, utcnow
from tests import factories as f
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

PASSWORD = "staff-password-123"


async def _staff_login(client: httpx.AsyncClient, phone: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"phone": phone, "password": password})


async def test_staff_password_login(app: App, db: AsyncSession) -> None:
    u = await f.user(db, "物业经理", password=PASSWORD)
    r = await _staff_login(app.client, u.phone)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = await app.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["id"] == u.id


async def test_wrong_password_and_passwordless_user_look_the_same(app: App, db: AsyncSession) -> None:
    staff = await f.user(db, password=PASSWORD)
    resident = await f.user(db)
    for phone in (staff.phone, resident.phone, "+8613911112222"):
        r = await _staff_login(app.client, phone, "wrong-password-1")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "auth.invalid_credentials"


async def test_password_guessing_is_limited(app: App, db: AsyncSession) -> None:
    app.runtime.settings = app.settings.model_copy(update={"password_failures_per_15min": 3})
    u = await f.user(db, password=PASSWORD)
    codes = [(await _staff_login(app.client, u.phone, "guess-guess-1")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Even the right password waits out the window.
    assert (await _staff_login(app.client, u.phone)).status_code == 429


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_bad_tokens_get_401(app: App, db: AsyncSession) -> None:
    u = await f.user(db)
    good = f.auth(u)["Authorization"].split()[1]
    header, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    secret = f.SECRET
    expired = jwt.encode(
        {**claims, "exp": int((utcnow() - timedelta(minutes=1)).timestamp())}, secret, "HS256"
    )
    wrong_alg = jwt.encode(claims, secret + "-and-more-bytes-for-hs512-length", "HS512")
    none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    tampered = f"{header}.{_b64({**claims, 'sub': '999999'})}.{signature}"
    other_key = jwt.encode(claims, "another-secret-" + "y" * 40, "HS256")
    refresh_typed = jwt.encode({**claims, "typ": "refresh"}, secret, "HS256")
    for token in (expired, wrong_alg, none_alg, tampered, other_key, refresh_typed, "garbage", "a.b.c"):
        r = await app.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] == "auth.invalid_token"
    r = await app.client.get("/v1/me", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_disabled_or_deleted_user_gets_401(app: App, db: AsyncSession) -> None:
    u = await f.user(db)
    headers = f.auth(u)
    assert (await app.client.get("/v1/me", headers=headers)).status_code == 200
    u.disabled_at = utcnow()
    db.add(u)
    await db.flush()
    r = await app.client.get("/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.user_disabled"
    ghost = jwt.encode(
        {"sub": "987654321", "iss": "linli", "typ": "access", "iat": 1, "exp": 4102444800}, f.SECRET, "HS256"
    )
    r = await app.client.get("/v1/me", headers={"Authorization": f"Bearer {ghost}"})
    assert r.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_family(
    app: App, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    u = await f.user(db, password=PASSWORD)
    first = (await _staff_login(app.client, u.phone)).json()
    r = await app.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]

    # The rotated token comes back after the grace window (test_auth_refresh_grace.py): someone
    # copied it. The whole family dies, the new token too.
    frozen_clock.shift(app.settings.refresh_reuse_grace_seconds + 1)
    r = await app.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.refresh_token_reused"
    r = await app.client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401
    rows = (await db.exec(select(RefreshToken).where(RefreshToken.user_id == u.id))).all()
    assert len(rows) == 2
    assert all(row.revoked_at is not None for row in rows)
    assert len({row.family_id for row in rows}) == 1
    # Stored hashed, never in clear.
    assert all(first["refresh_token"] not in (row.token_hash,) for row in rows)


async def test_other_sessions_survive_reuse_in_one_family(
    app: App, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    u = await f.user(db, password=PASSWORD)
    phone_a = (await _staff_login(app.client, u.phone)).json()
    phone_b = (await _staff_login(app.client, u.phone)).json()
    await app.client.post("/v1/auth/refresh", json={"refresh_token": phone_a["refresh_token"]})
    frozen_clock.shift(app.settings.refresh_reuse_grace_seconds + 1)
    r = await app.client.post("/v1/auth/refresh", json={"refresh_token": phone_a["refresh_token"]})
    assert r.status_code == 401
    r = await app.client.post("/v1/auth/refresh", json={"refresh_token": phone_b["refresh_token"]})
    assert r.status_code == 200


async def test_expired_and_unknown_refresh_tokens(app: App, db: AsyncSession) -> None:
    u = await f.user(db, password=PASSWORD)
    tokens = (await _staff_login(app.client, u.phone)).json()
    row = (await db.exec(select(RefreshToken).where(RefreshToken.user_id == u.id))).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    await db.flush()
    for token in (tokens["refresh_token"], "x" * 43):
        r = await app.client.post("/v1/auth/refresh", json={"refresh_token": token})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "auth.invalid_refresh_token"


async def test_logout_revokes_the_family(app: App, db: AsyncSession) -> None:
    u = await f.user(db, password=PASSWORD)
    tokens = (await _staff_login(app.client, u.phone)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await app.client.post(
        "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert r.status_code == 204
    r = await app.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    revoked = (
        await db.exec(
            select(RefreshToken).where(
                RefreshToken.user_id == u.id, col(RefreshToken.revoked_at).is_not(None)
            )
        )
    ).all()
    assert len(revoked) == 1
    r = await app.client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_password_lockout_counts_failures_only(app: App, db: AsyncSession) -> None:
    app.runtime.settings = app.settings.model_copy(update={"password_failures_per_15min": 5})
    u = await f.user(db, password=PASSWORD)
    wrong = [(await _staff_login(app.client, u.phone, "guess-guess-1")).status_code for _ in range(4)]
    assert wrong == [401, 401, 401, 401]
    assert (await _staff_login(app.client, u.phone)).status_code == 200
    # The success did not count: this is the 5th failure, still within the limit of 5.
    assert (await _staff_login(app.client, u.phone, "guess-guess-1")).status_code == 401
    # ...and the success did not wipe the earlier failures either: a 6th is refused.
    r = await _staff_login(app.client, u.phone, "guess-guess-1")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "request.rate_limited"


async def test_a_verified_token_is_refused_once_it_expires(
    app: App, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    # The process remembers verified tokens (services/security.py); the expiry still holds on the
    # remembered ones, to the second, and a token issued "in the future" is never taken from memory.
    u = await f.user(db)
    headers = f.auth(u, minutes=15)
    for _ in range(2):
        r = await app.client.get("/v1/me", headers=headers)
        assert r.status_code == 200, r.text
    frozen_clock.shift(timedelta(minutes=14, seconds=50))
    assert (await app.client.get("/v1/me", headers=headers)).status_code == 200
    frozen_clock.shift(timedelta(seconds=15))
    r = await app.client.get("/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.invalid_token"
    # A remembered token whose iat lies ahead (the server's clock set back) is refused, as PyJWT does.
    early = f.auth(u, minutes=15)
    assert (await app.client.get("/v1/me", headers=early)).status_code == 200
    frozen_clock.shift(timedelta(minutes=-10))
    for _ in range(2):
        assert (await app.client.get("/v1/me", headers=early)).status_code == 401
