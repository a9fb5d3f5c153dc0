"""POST /v1/devices per push provider: token shapes, platforms, moving tokens, logout."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Delivery, Device
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify
from tests import factories as f
from tests.conftest import App

pytestmark = pytest.mark.calendar

register_templates({"test.providers": (("你好", "工单已受理"), ("Hello", "Ticket accepted"))})

FCM = "fcm-token-" + "a" * 30 + ":APA91b" + "c" * 20
JPUSH = "1a0018970a9b2fe0a22"  # the shape of a JPush registration id
APNS = "ab" * 32
PASSWORD = "staff-password-123"


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], token: str, platform: str, provider: str | None
) -> httpx.Response:
    body = {"token": token, "platform": platform}
    if provider is not None:
        body["provider"] = provider
    return await client.post("/v1/devices", json=body, headers=headers)


async def test_one_user_many_devices_each_with_its_provider(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    u = await f.user(db)
    h = f.auth(u)
    cases = [
        (FCM, "android", None),  # old apps send no provider: FCM, as before
        (JPUSH, "android", "jpush"),
        ("1b0018970a9b2fe0a23", "harmonyos", "jpush"),
        (APNS.upper(), "ios", "apns"),
    ]
    for token, platform, provider in cases:
        r = await _register(client, h, token, platform, provider)
        assert r.status_code == 201, r.text
        assert r.json()["provider"] == (provider or "fcm")
    listed = (await client.get("/v1/devices", headers=h)).json()
    assert [(d["platform"], d["provider"]) for d in listed] == [
        ("android", "fcm"),
        ("android", "jpush"),
        ("harmonyos", "jpush"),
        ("ios", "apns"),
    ]
    apns = (await db.exec(select(Device).where(Device.provider == "apns"))).one()
    assert apns.token == APNS  # normalised to lower case: one device, however the app spells it

    created = await notify(db, [u.id or 0], "ticket", "test.providers", {}, "prov:1")
    rows = (await db.exec(select(Delivery).where(col(Delivery.notification_id).in_(created)))).all()
    assert sorted(d.provider or "" for d in rows) == ["apns", "fcm", "jpush", "jpush"]
    assert all(d.channel == "push" for d in rows)


@pytest.mark.parametrize(
    ("token", "platform", "provider", "code"),
    [
        (JPUSH, "android", "huawei", "device.unknown_provider"),
        (JPUSH, "android", "", "request.invalid"),
        (FCM, "harmonyos", "fcm", "device.provider_not_for_platform"),
        (APNS, "harmonyos", "apns", "device.provider_not_for_platform"),
        (APNS, "android", "apns", "device.provider_not_for_platform"),
        ("ab" * 31, "ios", "apns", "device.token_invalid"),  # 62 hex digits
        ("zz" * 32, "ios", "apns", "device.token_invalid"),
        (FCM, "android", "jpush", "device.token_invalid"),  # an FCM token sent as a JPush id
        ("1a00", "android", "jpush", "device.token_invalid"),
        ("short", "android", "fcm", "device.token_invalid"),
        ("fcm token with spaces in it!!", "android", "fcm", "device.token_invalid"),
        (JPUSH, "windows", "jpush", "request.invalid"),
    ],
)
async def test_bad_device_registrations_are_422_with_a_code(
    client: httpx.AsyncClient, db: AsyncSession, token: str, platform: str, provider: str, code: str
) -> None:
    u = await f.user(db)
    r = await _register(client, f.auth(u), token, platform, provider)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert (await db.exec(select(Device).where(Device.user_id == u.id))).all() == []


async def test_token_moves_to_the_user_who_registers_it_last(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await f.user(db)
    b = await f.user(db)
    first = (await _register(client, f.auth(a), JPUSH, "android", "jpush")).json()
    second = (await _register(client, f.auth(b), JPUSH, "harmonyos", "jpush")).json()
    assert second["id"] == first["id"]
    row = await db.get(Device, first["id"])
    assert row is not None
    await db.refresh(row)
    assert (row.user_id, row.platform, row.provider) == (b.id, "harmonyos", "jpush")
    assert (await client.get("/v1/devices", headers=f.auth(a))).json() == []
    # The same string under another provider is another device (unique per provider and token).
    other = (await _register(client, f.auth(a), "1a0018970a9b2fe0a22ffffffff", "android", "fcm")).json()
    assert other["id"] != first["id"]


async def test_logout_unregisters_the_sessions_device_only(app: App, db: AsyncSession) -> None:
    u = await f.user(db, password=PASSWORD)
    phone_a = (await app.client.post("/v1/auth/login", json={"phone": u.phone, "password": PASSWORD})).json()
    phone_b = (await app.client.post("/v1/auth/login", json={"phone": u.phone, "password": PASSWORD})).json()
    ha = {"Authorization": f"Bearer {phone_a['access_token']}"}
    hb = {"Authorization": f"Bearer {phone_b['access_token']}"}
    da = (await _register(app.client, ha, JPUSH, "android", "jpush")).json()
    db_ = (await _register(app.client, hb, APNS, "ios", "apns")).json()
    r = await app.client.post("/v1/auth/logout", json={"refresh_token": phone_a["refresh_token"]}, headers=ha)
    assert r.status_code == 204
    gone = await db.get(Device, da["id"])
    kept = await db.get(Device, db_["id"])
    assert gone is not None and kept is not None
    await db.refresh(gone)
    await db.refresh(kept)
    assert gone.disabled_at is not None and gone.disabled_reason == "logged_out"
    assert kept.disabled_at is None
    assert [d["id"] for d in (await app.client.get("/v1/devices", headers=hb)).json()] == [db_["id"]]
    # Logging in again on that phone and registering brings the device back.
    again = (await app.client.post("/v1/auth/login", json={"phone": u.phone, "password": PASSWORD})).json()
    hc = {"Authorization": f"Bearer {again['access_token']}"}
    assert (await _register(app.client, hc, JPUSH, "android", "jpush")).json()["id"] == da["id"]
    await db.refresh(gone)
    assert gone.disabled_at is None
