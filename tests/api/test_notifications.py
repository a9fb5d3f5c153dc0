"""Inbox, devices, preferences and the notify() outbox writer."""

from __future__ import annotations

from datetime import UTC, datetime, time

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Delivery, Device, Notification, QuietHours
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify, quiet_window_end
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

register_templates(
    {
        "test.hello": (("你好 {name}", "工单 {ticket} 已受理"), ("Hello {name}", "Ticket {ticket} accepted")),
    }
)
TOKEN_A = "fcm-token-aaaaaaaaaaaaaaaaaaaaaaaa"
TOKEN_B = "fcm-token-bbbbbbbbbbbbbbbbbbbbbbbb"


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], token: str, platform: str = "android"
) -> httpx.Response:
    return await client.post("/v1/devices", json={"token": token, "platform": platform}, headers=headers)


async def test_notify_renders_locale_and_fans_out_per_device(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    zh = await f.user(db)
    en = await f.user(db)
    en.locale = "en"
    db.add(en)
    await db.flush()
    assert (await _register(client, f.auth(zh), TOKEN_A)).status_code == 201
    assert (await _register(client, f.auth(zh), TOKEN_B, "ios")).status_code == 201

    created = await notify(
        db, [zh.id or 0, en.id or 0], "ticket", "test.hello", {"name": "王", "ticket": 7}, "t7:accepted"
    )
    assert len(created) == 2
    rows = {
        n.user_id: n
        for n in (await db.exec(select(Notification).where(col(Notification.id).in_(created)))).all()
    }
    assert rows[zh.id or 0].title == "你好 王"
    assert rows[en.id or 0].body == "Ticket 7 accepted"
    deliveries = (await db.exec(select(Delivery).where(col(Delivery.notification_id).in_(created)))).all()
    assert sorted(d.channel for d in deliveries) == ["push", "push"]  # zh has 2 devices, en none
    assert {d.user_id for d in deliveries} == {zh.id}

    # The same event again (a retried job) changes nothing.
    assert (
        await notify(
            db, [zh.id or 0, en.id or 0], "ticket", "test.hello", {"name": "王", "ticket": 7}, "t7:accepted"
        )
        == []
    )
    assert len((await db.exec(select(Delivery).where(Delivery.user_id == zh.id))).all()) == 2


async def test_inbox_list_count_read(client: httpx.AsyncClient, db: AsyncSession) -> None:
    u = await f.user(db)
    other = await f.user(db)
    for i in range(3):
        await notify(
            db, [u.id or 0, other.id or 0], "ticket", "test.hello", {"name": "x", "ticket": i}, f"k{i}"
        )
    h = f.auth(u)
    r = await client.get("/v1/notifications/unread-count", headers=h)
    assert r.json() == {"unread": 3, "capped": False}
    r = await client.get("/v1/notifications?limit=2", headers=h)
    page = r.json()
    assert [n["body"] for n in page["items"]] == ["工单 2 已受理", "工单 1 已受理"]
    r2 = await client.get(f"/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=h)
    assert [n["body"] for n in r2.json()["items"]] == ["工单 0 已受理"]
    assert r2.json()["next_cursor"] is None

    first = page["items"][0]["id"]
    r = await client.post(f"/v1/notifications/{first}/read", headers=h)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert (await client.get("/v1/notifications/unread-count", headers=h)).json()["unread"] == 2
    # Someone else's item does not exist for you.
    theirs = (await db.exec(select(Notification).where(Notification.user_id == other.id))).first()
    assert theirs is not None
    r = await client.post(f"/v1/notifications/{theirs.id}/read", headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "notification.not_found"
    r = await client.post("/v1/notifications/read-all", headers=h)
    assert r.json() == {"marked": 2}
    assert (await client.get("/v1/notifications/unread-count", headers=h)).json()["unread"] == 0
    assert (await client.get("/v1/notifications/unread-count", headers=f.auth(other))).json()["unread"] == 3
    assert (await client.get("/v1/notifications?cursor=%%%")).status_code == 401
    r = await client.get("/v1/notifications?cursor=bm90LWpzb24", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "pagination.invalid_cursor"


async def test_device_token_moves_to_new_user_and_unregisters(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await f.user(db)
    b = await f.user(db)
    r = await _register(client, f.auth(a), TOKEN_A)
    device_id = r.json()["id"]
    r = await _register(client, f.auth(b), TOKEN_A, "ios")
    assert r.json()["id"] == device_id
    row = await db.get(Device, device_id)
    assert row is not None
    await db.refresh(row)
    assert row.user_id == b.id and row.platform == "ios"
    assert (await client.get("/v1/devices", headers=f.auth(a))).json() == []
    assert (await client.delete(f"/v1/devices/{device_id}", headers=f.auth(a))).status_code == 404
    assert (await client.delete(f"/v1/devices/{device_id}", headers=f.auth(b))).status_code == 204
    await db.refresh(row)
    assert row.disabled_at is not None
    r = await _register(client, f.auth(b), "short", "android")
    assert r.status_code == 422
    r = await _register(client, f.auth(b), TOKEN_B, "windows")
    assert r.status_code == 422


async def test_preferences_mute_push_but_not_critical(client: httpx.AsyncClient, db: AsyncSession) -> None:
    u = await f.user(db)
    h = f.auth(u)
    await _register(client, h, TOKEN_A)
    r = await client.put(
        "/v1/me/notification-preferences",
        json={"preferences": [{"category": "ticket", "channel": "push", "enabled": False}]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert "emergency" in r.json()["critical_categories"]
    created = await notify(db, [u.id or 0], "ticket", "test.hello", {"name": "x", "ticket": 1}, "m1")
    assert len(created) == 1  # the inbox row is always written
    assert (await db.exec(select(Delivery).where(Delivery.user_id == u.id))).all() == []
    await notify(db, [u.id or 0], "emergency", "test.hello", {"name": "x", "ticket": 2}, "m2")
    assert len((await db.exec(select(Delivery).where(Delivery.user_id == u.id))).all()) == 1

    r = await client.put(
        "/v1/me/notification-preferences",
        json={"preferences": [{"category": "emergency", "channel": "push", "enabled": False}]},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "notification.critical_category"
    r = await client.put(
        "/v1/me/notification-preferences",
        json={"preferences": [{"category": "nope", "channel": "push", "enabled": False}]},
        headers=h,
    )
    # NotificationCategory is a named enum in the contract: an unknown one is request.invalid.
    body = r.json()["error"]
    assert r.status_code == 422 and body["code"] == "request.invalid"
    assert body["details"]["fields"][0]["loc"][-1] == "category"
    r = await client.put(
        "/v1/me/notification-preferences",
        json={"quiet_hours": {"starts": "22:00", "ends": "07:00", "time_zone": "Mars/Olympus"}},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "notification.invalid_time_zone"


async def test_critical_without_device_falls_back_to_sms(db: AsyncSession) -> None:
    u = await f.user(db)
    await notify(db, [u.id or 0], "emergency", "test.hello", {"name": "x", "ticket": 3}, "e1")
    rows = (await db.exec(select(Delivery).where(Delivery.user_id == u.id))).all()
    assert [d.channel for d in rows] == ["sms"]


def test_quiet_window_spanning_midnight() -> None:
    q = QuietHours(user_id=1, starts=time(22, 0), ends=time(7, 0), time_zone="Asia/Shanghai")
    # 23:30 Beijing = 15:30 UTC → held until 07:00 Beijing = 23:00 UTC.
    assert quiet_window_end(datetime(2026, 11, 26, 15, 30, tzinfo=UTC), q) == datetime(
        2026, 11, 26, 23, 0, tzinfo=UTC
    )
    # 06:00 Beijing = 22:00 UTC the day before → 07:00 the same Beijing morning.
    assert quiet_window_end(datetime(2026, 11, 26, 22, 0, tzinfo=UTC), q) == datetime(
        2026, 11, 26, 23, 0, tzinfo=UTC
    )
    noon = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    assert quiet_window_end(noon, q) == noon


async def test_quiet_hours_hold_routine_pushes(client: httpx.AsyncClient, db: AsyncSession) -> None:
    u = await f.user(db)
    h = f.auth(u)
    await _register(client, h, TOKEN_A)
    now_local = datetime.now(UTC)
    # A window that always contains "now": from one minute ago until one minute ago (+24h - 2 min).
    start = (now_local.replace(second=0, microsecond=0)).time()
    r = await client.put(
        "/v1/me/notification-preferences",
        json={"quiet_hours": {"starts": start.strftime("%H:%M"), "ends": "", "time_zone": "UTC"}},
        headers=h,
    )
    assert r.status_code == 422  # an empty end time is invalid input
    ends = (datetime.combine(now_local.date(), start).replace(tzinfo=UTC)).replace(
        minute=(start.minute + 30) % 60
    )
    r = await client.put(
        "/v1/me/notification-preferences",
        json={
            "quiet_hours": {
                "starts": start.strftime("%H:%M"),
                "ends": ends.strftime("%H:%M"),
                "time_zone": "UTC",
            }
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    await notify(db, [u.id or 0], "ticket", "test.hello", {"name": "x", "ticket": 4}, "q1")
    await notify(db, [u.id or 0], "safety", "test.hello", {"name": "x", "ticket": 5}, "q2")
    rows = {
        d.dedupe_key.split(":")[0]: d
        for d in (await db.exec(select(Delivery).where(Delivery.user_id == u.id))).all()
    }
    assert rows["q1"].next_attempt_at > datetime.now(UTC)
    assert rows["q2"].next_attempt_at <= datetime.now(UTC)
