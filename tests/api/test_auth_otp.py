"""Phone login with a one-time SMS code: happy path, bad numbers, wrong/expired/reused codes, limits."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import time_machine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import OtpChallenge, User, utcnow
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

PHONE = "13800138000"
E164 = "+8613800138000"


async def _send(client: httpx.AsyncClient, phone: str = PHONE, **headers: str) -> httpx.Response:
    return await client.post("/v1/auth/otp", json={"phone": phone}, headers=headers)


async def _login(client: httpx.AsyncClient, code: str, phone: str = PHONE) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"phone": phone, "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_otp_login_creates_user_and_returns_tokens(app: App, db: AsyncSession) -> None:
    r = await _send(app.client, "138 0013 8000")
    assert r.status_code == 202, r.text
    assert r.json() == {"phone": E164, "expires_in": 300, "resend_after": 60}
    assert "code" not in r.text.lower() or "code" not in r.json()
    code = app.sms.last_code(E164)
    assert code is not None and len(code) == 6 and code.isdigit()
    assert code in app.sms.sent[-1].text

    r = await _login(app.client, code)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["phone"] == E164
    user = (await db.exec(select(User).where(User.phone == E164))).one()
    assert user.last_login_at is not None

    me = await app.client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["phone"] == E164
    assert me.json()["verified"] is False


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("12345", "auth.invalid_phone"),
        ("not a phone", "auth.invalid_phone"),
        ("+86 138 0013 800", "auth.invalid_phone"),
        ("+14155552671", "auth.unsupported_phone"),
        ("+44 7911 123456", "auth.unsupported_phone"),
        ("+86 10 6552 9988", "auth.unsupported_phone"),  # Beijing landline: no SMS
    ],
)
async def test_bad_and_foreign_numbers_are_refused(app: App, phone: str, code: str) -> None:
    r = await _send(app.client, phone)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == code
    assert app.sms.sent == []


async def test_wrong_code_counts_attempts_and_burns_after_five(app: App) -> None:
    await _send(app.client)
    code = app.sms.last_code(E164)
    assert code is not None
    for left in (4, 3, 2, 1):
        r = await _login(app.client, _wrong(code))
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "auth.otp_invalid"
        assert r.json()["error"]["details"]["attempts_left"] == left
    r = await _login(app.client, _wrong(code))
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "auth.otp_too_many_attempts"
    assert int(r.headers["Retry-After"]) >= 1
    # The right code no longer works: the challenge is gone.
    r = await _login(app.client, code)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "auth.otp_expired"


async def test_expired_code_is_refused(app: App, db: AsyncSession) -> None:
    await _send(app.client)
    code = app.sms.last_code(E164)
    assert code is not None
    if app.runtime.redis is not None:
        await app.runtime.redis.pexpire(f"linli:otp:{E164}", 1)
        await app.runtime.redis.delete(f"linli:otp:{E164}")
    else:
        row = await db.get(OtpChallenge, E164)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.add(row)
        await db.flush()
    r = await _login(app.client, code)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "auth.otp_expired"


async def test_code_cannot_be_reused(app: App) -> None:
    await _send(app.client)
    code = app.sms.last_code(E164)
    assert code is not None
    assert (await _login(app.client, code)).status_code == 200
    r = await _login(app.client, code)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "auth.otp_expired"


async def test_resend_is_throttled_with_retry_after(app: App) -> None:
    assert (await _send(app.client)).status_code == 202
    r = await _send(app.client)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "auth.otp_throttled"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"]["details"]["retry_after"] == int(r.headers["Retry-After"])
    assert len(app.sms.sent) == 1


async def test_per_phone_hourly_limit(app: App) -> None:
    app.runtime.settings = app.settings.model_copy(update={"otp_phone_hourly_limit": 0})
    r = await _send(app.client)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "auth.otp_throttled"
    assert app.sms.sent == []


async def test_per_ip_limit_across_phones(app: App) -> None:
    app.runtime.settings = app.settings.model_copy(update={"otp_ip_hourly_limit": 3})
    for i in range(3):
        assert (await _send(app.client, f"1390000100{i}")).status_code == 202
    r = await _send(app.client, "13900001009")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "request.rate_limited"
    assert int(r.headers["Retry-After"]) > 60
    assert len(app.sms.sent) == 3


async def test_no_burst_at_the_edge_of_the_window(app: App, frozen_clock: time_machine.Coordinates) -> None:
    """The old fixed window let 3 sends through just before it reset and 3 more just after; a moving
    window counts the last hour, so right after the edge only the slot of the first send is free."""
    app.runtime.settings = app.settings.model_copy(update={"otp_ip_hourly_limit": 3})
    assert (await _send(app.client, "13900001100")).status_code == 202
    frozen_clock.shift(timedelta(seconds=3590))
    assert (await _send(app.client, "13900001101")).status_code == 202
    assert (await _send(app.client, "13900001102")).status_code == 202
    frozen_clock.shift(timedelta(seconds=20))  # past the hour that began with the first send
    assert (await _send(app.client, "13900001103")).status_code == 202  # the first send aged out
    r = await _send(app.client, "13900001104")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "request.rate_limited"
    # Free again when the sends at 3590 s leave the window: about 3580 s from now.
    assert 3500 <= int(r.headers["Retry-After"]) <= 3600
    assert len(app.sms.sent) == 4


async def test_brute_force_guessing_across_phones_hits_ip_limit(app: App) -> None:
    app.runtime.settings = app.settings.model_copy(update={"otp_ip_hourly_limit": 1, "otp_max_attempts": 5})
    statuses = [(await _login(app.client, "000000", f"1390000200{i}")).status_code for i in range(6)]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


async def test_login_needs_exactly_one_method(app: App) -> None:
    r = await app.client.post("/v1/auth/login", json={"phone": PHONE})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "auth.login_method"
    r = await app.client.post("/v1/auth/login", json={"phone": PHONE, "code": "123456", "password": "x"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "auth.login_method"
    r = await app.client.post("/v1/auth/login", json={"phone": PHONE, "code": "12ab56"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "request.invalid"


async def test_english_messages_by_accept_language(app: App) -> None:
    r = await _send(app.client, "12345", **{"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert r.json()["error"]["message"] == "The phone number is not valid"
    r = await _send(app.client, "12345")
    assert r.json()["error"]["message"] == "手机号码格式不正确"
