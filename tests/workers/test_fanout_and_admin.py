"""Chunked fan-out, the SMS fallback for unread critical items, device pruning and the dead-letter API."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import (
    AuditLog,
    Delivery,
    Device,
    Notification,
    NotificationFanout,
    NotificationPreference,
    QuietHours,
    utcnow,
)
from services.notifications import deliveries as q
from services.notifications import fanout
from services.notifications.catalog import register_templates
from services.notifications.devices import prune_stale
from services.notifications.outbox import notify
from services.runtime import Runtime
from tests import factories as f
from tests.conftest import App
from workers import jobs
from workers.jobs import LocalFanouts

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

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
    assert item["provider"] == "fcm"  # a device added without a provider is an FCM device
    r = await client.post("/v1/admin/deliveries/redrive", json={"ids": [claimed.id]}, headers=f.auth(admin))
    assert r.json() == {"requeued": 1, "by_provider": {"fcm": 1}}
    row = await db.get(Delivery, claimed.id)
    assert row is not None
    await db.refresh(row)
    assert row.status == "pending" and row.attempts == 0
    assert (
        await db.exec(select(AuditLog).where(col(AuditLog.action) == "delivery.redrive"))
    ).first() is not None
    r = await client.get("/v1/admin/deliveries?status=bogus", headers=f.auth(admin))
    assert r.status_code == 422


async def test_set_based_notify_keeps_devices_opt_outs_quiet_hours_and_sms(db: AsyncSession) -> None:
    """notify() writes inbox rows and deliveries with INSERT … SELECT; recipients with quiet hours or a
    muted push channel still get theirs row by row, critical items ignore both, and a repeat is a no-op."""
    two, quiet, muted, bare = [await f.user(db) for _ in range(4)]
    for n, u in enumerate((two, two, quiet, muted)):
        db.add(Device(user_id=u.id or 0, token=f"set-based-token-{n:012d}", platform="android"))
    now = utcnow()
    db.add(
        QuietHours(
            user_id=quiet.id or 0,
            starts=(now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
            ends=(now + timedelta(hours=1)).time().replace(second=0, microsecond=0),
            time_zone="UTC",
        )
    )
    db.add(NotificationPreference(user_id=muted.id or 0, category="notice", channel="push", enabled=False))
    await db.flush()
    ids = [u.id or 0 for u in (two, quiet, muted, bare)]

    async def deliveries(key: str) -> dict[int, list[tuple[str, str, bool]]]:
        got: dict[int, list[tuple[str, str, bool]]] = {}
        rows = await db.exec(select(Delivery).where(col(Delivery.dedupe_key).startswith(f"{key}:")))
        for d in rows.all():
            got.setdefault(d.user_id, []).append(
                (d.channel, d.dedupe_key, d.next_attempt_at > now + timedelta(minutes=5))
            )
        return {u: sorted(v) for u, v in got.items()}

    created = await notify(db, ids, "notice", "test.fan", {"what": "停电"}, "routine:9")
    assert len(created) == 4
    got = await deliveries("routine:9")
    assert sorted(got) == sorted([two.id, quiet.id])  # muted: no push; bare: no device, not critical
    assert [(c, later) for c, _, later in got[two.id or 0]] == [("push", False), ("push", False)]
    assert [(c, later) for c, _, later in got[quiet.id or 0]] == [
        ("push", True)
    ]  # held until the window ends
    assert all(k.startswith(f"routine:9:u{two.id}:d") for _, k, _ in got[two.id or 0])
    assert await notify(db, ids, "notice", "test.fan", {"what": "停电"}, "routine:9") == []
    assert await deliveries("routine:9") == got

    await notify(db, ids, "emergency", "test.fan", {"what": "燃气泄漏"}, "gas:9")
    got = await deliveries("gas:9")
    assert {u: [(c, later) for c, _, later in v] for u, v in got.items()} == {
        two.id: [("push", False), ("push", False)],
        quiet.id: [("push", False)],
        muted.id: [("push", False)],
        bare.id: [("sms", False)],
    }
    assert got[bare.id or 0][0][1] == f"gas:9:u{bare.id}:sms"


async def test_committed_fanout_is_expanded_at_once_by_the_fanout_relay(
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: App,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fan-out relay starts a committed fan-out right away (no scheduler pass); a rolled-back one
    never starts; each chunk's deliveries go to the delivery relay after its commit."""
    users = [await f.user(db) for _ in range(5)]
    for n, u in enumerate(users):
        db.add(Device(user_id=u.id or 0, token=f"relay-fan-token-{n:012d}", platform="ios"))
    await db.commit()
    kicked: list[int] = []

    async def relay(ids: list[int]) -> None:
        kicked.extend(ids)

    runtime = Runtime(settings=app.settings, sms=app.sms, relay=relay)
    resources = Resources(engine, sessionmaker, runtime)
    runtime.fanout_relay = fanouts = LocalFanouts(resources)
    ids = [u.id or 0 for u in users]
    with pytest.raises(RuntimeError):
        async with resources.unit() as session:
            await fanout.notify_later(session, ids, "notice", "test.fan", {"what": "演练"}, "fan:rolled")
            raise RuntimeError("the request failed")
    assert not fanouts.tasks
    chunks: list[int] = []
    advance = fanout.advance

    async def counted(session: AsyncSession, fanout_id: int, chunk: int | None = None) -> bool:
        chunks.append(fanout_id)
        return await advance(session, fanout_id, chunk)

    monkeypatch.setattr(fanout, "CHUNK", 2)
    monkeypatch.setattr(fanout, "SQLITE_CHUNK", 2)  # SQLite's own smaller chunks (issue 21)
    monkeypatch.setattr(fanout, "SQLITE_PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(fanout, "advance", counted)
    async with resources.unit() as session:
        fid = await fanout.notify_later(session, ids, "notice", "test.fan", {"what": "演练"}, "fan:5")
    await fanouts.close()
    assert chunks == [fid] * 3  # three chunks of two, one transaction each
    job = await db.get(NotificationFanout, fid)
    assert job is not None
    await db.refresh(job)
    assert job.done_at is not None and job.next_index == 5
    rows = (await db.exec(select(Delivery.id).where(col(Delivery.dedupe_key).startswith("fan:5:")))).all()
    assert sorted(kicked) == sorted(rows) and len(rows) == 5
    assert (await db.exec(select(func.count()).select_from(NotificationFanout).where(
        NotificationFanout.dedupe_key == "fan:rolled"))).one() == 0  # fmt: skip


async def test_admins_list_and_redrive_one_providers_dead_letters(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """After a JPush outage: its dead letters are found by provider and put back, FCM's stay."""
    u = await f.user(db)
    db.add(Device(user_id=u.id or 0, token="dead-fcm-token-000000000000", platform="android"))
    db.add(Device(user_id=u.id or 0, token="1a0018970a9b2fe0dead", platform="android", provider="jpush"))
    await db.flush()
    await notify(db, [u.id or 0], "ticket", "test.fan", {"what": "x"}, "dead:providers")
    for claimed in await q.claim_due(db, 10):
        await q.mark_dead(db, claimed, "1000: Server error")
    admin = await f.user(db)
    await f.member(db, admin, f.Role.platform_admin)
    h = f.auth(admin)
    r = await client.get("/v1/admin/deliveries?provider=jpush", headers=h)
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["items"] if i["user_id"] == u.id]
    assert [i["provider"] for i in mine] == ["jpush"]
    assert (await client.get("/v1/admin/deliveries?provider=huawei", headers=h)).status_code == 422
    r = await client.post(
        "/v1/admin/deliveries/redrive", json={"ids": [i["id"] for i in mine], "provider": "jpush"}, headers=h
    )
    assert r.json() == {"requeued": 1, "by_provider": {"jpush": 1}}
    rows = (await db.exec(select(Delivery).where(Delivery.user_id == u.id))).all()
    for row in rows:
        await db.refresh(row)
    assert sorted((d.provider, d.status) for d in rows) == [("fcm", "dead"), ("jpush", "pending")]
