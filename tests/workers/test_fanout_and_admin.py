"""Chunked fan-out, the SMS fallback for unread critical items, device pruning and the dead-letter API."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import AuditLog, Delivery, Device, Notification, NotificationFanout, utcnow
from services.notifications import deliveries as q
from services.notifications import fanout
from services.notifications.catalog import register_templates
from services.notifications.devices import prune_stale
from services.notifications.outbox import notify
from tests import factories as f
from tests.conftest import App
from workers import jobs

register_templates({"test.fan": (("停水通知", "{what}"), ("Water cut", "{what}"))})


async def test_fanout_writes_in_chunks_and_resumes(db: AsyncSession) -> None:
    users = [(await f.user(db)).id or 0 for _ in range(7)]
    fid = await fanout.notify_later(db, users, "notice", "test.fan", {"what": "明天停水"}, "fan:1")
    assert fid is not None
    # A retried request records nothing new.
    assert await fanout.notify_later(db, users, "notice", "test.fan", {"what": "明天停水"}, "fan:1") is None
    assert await fanout.advance(db, fid, chunk=3) is False
    assert (await db.exec(select(func.count()).select_from(Notification))).one() == 3
    job = await db.get(NotificationFanout, fid)
    assert job is not None and job.next_index == 3
    assert await fanout.advance(db, fid, chunk=3) is False
    assert await fanout.advance(db, fid, chunk=3) is True
    await db.refresh(job)
    assert job.done_at is not None
    rows = (await db.exec(select(Notification.user_id).where(Notification.dedupe_key == "fan:1"))).all()
    assert sorted(rows) == sorted(users)
    assert await fanout.advance(db, fid) is True  # done stays done


async def test_scheduler_job_completes_fanouts(
    db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], app: App
) -> None:
    users = [(await f.user(db)).id or 0 for _ in range(3)]
    await fanout.notify_later(db, users, "notice", "test.fan", {"what": "电梯检修"}, "fan:2")
    await db.commit()
    assert await jobs.run_fanouts(Resources(engine, sessionmaker, app.runtime)) == 1
    assert (await db.exec(select(func.count()).select_from(Notification))).one() == 3


async def test_unread_critical_gets_one_sms_after_n_minutes(
    db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], app: App
) -> None:
    u = await f.user(db)
    db.add(Device(user_id=u.id or 0, token="fallback-token-000000000000", platform="android"))
    await db.flush()
    await notify(db, [u.id or 0], "emergency", "test.fan", {"what": "燃气泄漏，请撤离"}, "gas:1")
    await notify(db, [u.id or 0], "ticket", "test.fan", {"what": "普通消息"}, "routine:1")
    for n in (await db.exec(select(Notification).where(Notification.user_id == u.id))).all():
        n.created_at = utcnow() - timedelta(minutes=30)
        db.add(n)
    await db.commit()
    resources = Resources(engine, sessionmaker, app.runtime)
    assert await jobs.sms_for_unread_critical(resources) == 1
    assert await jobs.sms_for_unread_critical(resources) == 0  # never twice
    channels = (await db.exec(select(Delivery.channel).where(Delivery.user_id == u.id))).all()
    assert sorted(channels) == ["push", "push", "sms"]


async def test_stale_devices_are_pruned(db: AsyncSession) -> None:
    u = await f.user(db)
    db.add(
        Device(
            user_id=u.id or 0,
            token="stale-token-0000000000000000",
            platform="ios",
            last_seen_at=utcnow() - timedelta(days=61),
        )
    )
    db.add(
        Device(
            user_id=u.id or 0,
            token="fresh-token-0000000000000000",
            platform="ios",
            last_seen_at=utcnow() - timedelta(days=59),
        )
    )
    await db.flush()
    assert await prune_stale(db) == 1
    assert (await db.exec(select(Device.token).where(Device.user_id == u.id))).all() == [
        "fresh-token-0000000000000000"
    ]


async def test_dead_letters_listed_and_redriven_by_platform_admin(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    u = await f.user(db)
    db.add(Device(user_id=u.id or 0, token="dead-token-00000000000000000", platform="android"))
    await db.flush()
    await notify(db, [u.id or 0], "ticket", "test.fan", {"what": "x"}, "dead:1")
    claimed = (await q.claim_due(db, 10))[0]
    await q.mark_dead(db, claimed, "INVALID_ARGUMENT: bad android.ttl")
    admin = await f.user(db)
    await f.member(db, admin, f.Role.platform_admin)

    assert (await client.get("/v1/admin/deliveries", headers=f.auth(u))).status_code == 403
    assert (await client.get("/v1/admin/deliveries")).status_code == 401
    r = await client.get("/v1/admin/deliveries", headers=f.auth(admin))
    assert r.status_code == 200, r.text
    [item] = [i for i in r.json()["items"] if i["id"] == claimed.id]
    assert item["last_error"].startswith("INVALID_ARGUMENT") and item["category"] == "ticket"
    r = await client.post("/v1/admin/deliveries/redrive", json={"ids": [claimed.id]}, headers=f.auth(admin))
    assert r.json() == {"requeued": 1}
    row = await db.get(Delivery, claimed.id)
    assert row is not None
    await db.refresh(row)
    assert row.status == "pending" and row.attempts == 0
    assert (
        await db.exec(select(AuditLog).where(col(AuditLog.action) == "delivery.redrive"))
    ).first() is not None
    r = await client.get("/v1/admin/deliveries?status=bogus", headers=f.auth(admin))
    assert r.status_code == 422
