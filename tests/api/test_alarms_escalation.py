"""Alarm escalation (issue 15 item 5): stages due after the rule's minutes are sent once by the sweep
(also when it runs twice or on several workers at once), acknowledging / clearing stops the clock,
and critical alarms fall back to SMS when the push is not opened in time."""

from __future__ import annotations

import asyncio

import time_machine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.config import Settings
from services.db import session_factory, transaction
from services.models import Device
from services.models.alarms import Alarm, AlarmEscalation, AlarmEvent
from services.models.notifications import Delivery, Notification
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import factories as f
from tests.api.test_alarms_app import ISAPI, event, raise_alarm
from tests.committed_world import delete_ticket_world
from tests.conftest import App, committed_client
from workers import jobs
from workers.runner import JOBS
from workers.tasks.alarm_presence import sweep_escalations

MIN = 60


def resources(engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], app: App) -> Resources:
    return Resources(engine, maker, app.runtime)


async def escalated(db: AsyncSession, alarm_id: int, stage: int) -> set[int]:
    rows = (
        await db.exec(
            select(Notification.user_id).where(Notification.dedupe_key == f"alarm:{alarm_id}:esc:{stage}")
        )
    ).all()
    return set(rows)


async def test_stages_are_sent_once_in_order(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    frozen_clock: time_machine.Coordinates,
) -> None:
    assert "sweep_alarm_escalations" in {j.name for j in JOBS}
    client = app.client
    w = await f.ticket_world(db)
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)
    alarm_id = await raise_alarm(client, cam, "firedetection")
    res = resources(engine, sessionmaker, app)

    frozen_clock.shift(4 * MIN)
    assert await sweep_escalations(res) == 0
    frozen_clock.shift(2 * MIN)  # 6 minutes: stage 1, the manager
    assert await sweep_escalations(res) == 1
    assert await sweep_escalations(res) == 0  # never twice
    assert await escalated(db, alarm_id, 1) == {w.manager.id}
    n = (
        await db.exec(select(Notification).where(Notification.dedupe_key == f"alarm:{alarm_id}:esc:1"))
    ).one()
    assert n.category == "safety" and "5 分钟无人确认" in n.body
    # A critical stage goes by push and SMS at once.
    sms = (await db.exec(select(Delivery.channel).where(Delivery.notification_id == n.id))).all()
    assert "sms" in sms
    r = await client.get(f"/v1/alarms/{alarm_id}", headers=f.auth(w.admin))
    assert r.json()["escalation_stage"] == 1
    assert [e["data"]["stage"] for e in r.json()["history"] if e["kind"] == "escalated"] == [1]

    frozen_clock.shift(10 * MIN)  # 16 minutes: stage 2, the community admin and the committee
    assert await sweep_escalations(res) == 1
    assert await sweep_escalations(res) == 0
    assert await escalated(db, alarm_id, 2) == {w.admin.id, w.committee.id}
    r = await client.get(f"/v1/alarms/{alarm_id}", headers=f.auth(w.admin))
    assert r.json()["escalation_stage"] == 2
    kinds = [e["kind"] for e in r.json()["history"]]
    assert kinds.count("escalated") == 2
    rows = (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == alarm_id))).all()
    assert all(s.sent_at is not None and s.cancelled_at is None for s in rows)
    # Acknowledging now is still fine (nothing left to cancel).
    r = await client.post(f"/v1/alarms/{alarm_id}/acknowledge", headers=f.auth(w.manager))
    assert r.status_code == 200


async def test_acknowledge_and_clear_stop_the_clock(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    frozen_clock: time_machine.Coordinates,
) -> None:
    client = app.client
    w = await f.ticket_world(db)
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)
    acked = await raise_alarm(client, cam, "fielddetection")
    by_device = await raise_alarm(client, cam, "shelteralarm")
    by_person = await raise_alarm(client, cam, "illegalParking")
    res = resources(engine, sessionmaker, app)

    frozen_clock.shift(2 * MIN)
    r = await client.post(
        f"/v1/alarms/{acked}/acknowledge", json={"note": "保安已到场"}, headers=f.auth(w.technician)
    )
    assert r.status_code == 200
    r = await client.post(
        ISAPI,
        params={"device": cam["serial"], "token": cam["secret"]},
        content=event("shelteralarm", "inactive"),
        headers={"Content-Type": "application/xml"},
    )
    assert r.json() == {"status": "cleared", "alarm_id": by_device}
    r = await client.post(
        f"/v1/alarms/{by_person}/clear", json={"reason": "false_alarm"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 200
    for alarm_id in (acked, by_device, by_person):
        stages = (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == alarm_id))).all()
        assert len(stages) == 2 and all(s.cancelled_at is not None and s.sent_at is None for s in stages)

    frozen_clock.shift(30 * MIN)
    assert await sweep_escalations(res) == 0
    for alarm_id in (acked, by_device, by_person):
        assert await escalated(db, alarm_id, 1) == set() and await escalated(db, alarm_id, 2) == set()
        alarm = await db.get(Alarm, alarm_id)
        assert alarm is not None
        await db.refresh(alarm)
        assert alarm.escalation_stage == 0


async def test_stage_of_an_alarm_acknowledged_behind_the_sweeps_back_is_cancelled(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    frozen_clock: time_machine.Coordinates,
) -> None:
    """A caller that changes the status without stopping the clock (another area) cannot cause a send."""
    client = app.client
    w = await f.ticket_world(db)
    cam = await f.alarm_device(client, w.manager, w.cid)
    alarm_id = await raise_alarm(client, cam, "fielddetection")
    alarm = await db.get(Alarm, alarm_id)
    assert alarm is not None
    alarm.status = "active_acknowledged"
    db.add(alarm)
    await db.commit()
    frozen_clock.shift(20 * MIN)
    assert await sweep_escalations(resources(engine, sessionmaker, app)) == 0
    stages = (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == alarm_id))).all()
    assert all(s.cancelled_at is not None and s.sent_at is None for s in stages)


async def test_unopened_critical_push_falls_back_to_sms(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    frozen_clock: time_machine.Coordinates,
) -> None:
    client = app.client
    w = await f.ticket_world(db)
    for who, token in ((w.manager, "esc-manager-000000000000000"), (w.admin, "esc-admin-0000000000000000")):
        db.add(Device(user_id=who.id or 0, token=token, platform="android"))
    await db.flush()
    # Push only (no SMS at once), no escalation: the fallback alone must reach whoever does not open it.
    body = {
        "recipient_roles": ["property_manager", "community_admin"],
        "channels": ["push"],
        "escalation_stages": [],
    }
    r = await client.put(f"/v1/communities/{w.cid}/alarm-rules/fire", json=body, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)
    alarm_id = await raise_alarm(client, cam, "firedetection")
    raised = {
        n.user_id: n
        for n in (
            await db.exec(select(Notification).where(Notification.dedupe_key == f"alarm:{alarm_id}:raised"))
        ).all()
    }
    assert set(raised) == {w.manager.id, w.admin.id}

    def channels(uid: int | None) -> list[str]:
        return sorted(d.channel for d in deliveries if d.user_id == uid)

    deliveries = (
        await db.exec(
            select(Delivery).where(col(Delivery.notification_id).in_([n.id for n in raised.values()]))
        )
    ).all()
    assert channels(w.manager.id) == ["push"] and channels(w.admin.id) == ["push"]

    # The admin opens the push; the manager does not.
    r = await client.post(f"/v1/notifications/{raised[w.admin.id or 0].id}/read", headers=f.auth(w.admin))
    assert r.status_code == 200, r.text
    await db.commit()
    res = resources(engine, sessionmaker, app)
    frozen_clock.shift((app.settings.sms_fallback_minutes - 1) * MIN)
    assert await jobs.sms_for_unread_critical(res) == 0
    frozen_clock.shift(2 * MIN)
    assert await jobs.sms_for_unread_critical(res) == 1
    assert await jobs.sms_for_unread_critical(res) == 0  # once
    deliveries = (
        await db.exec(
            select(Delivery).where(col(Delivery.notification_id).in_([n.id for n in raised.values()]))
        )
    ).all()
    assert channels(w.manager.id) == ["push", "sms"] and channels(w.admin.id) == ["push"]


async def test_concurrent_sweeps_send_each_stage_once(
    settings: Settings, engine: AsyncEngine, frozen_clock: time_machine.Coordinates
) -> None:
    """Four sweepers on their own connections at once: one escalation event, one notice per person."""
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    try:
        async with committed_client(settings, engine, maker) as client:
            cam = await f.alarm_device(client, w.manager, w.cid)
            alarm_ids = [await raise_alarm(client, cam, kind) for kind in ("fielddetection", "shelteralarm")]
        frozen_clock.shift(16 * MIN)
        runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
        results = await asyncio.gather(
            *(sweep_escalations(Resources(engine, session_factory(engine), runtime)) for _ in range(4))
        )
        assert sum(results) == 4  # two alarms × two stages, each sent by exactly one sweeper
        async with maker() as s:
            for alarm_id in alarm_ids:
                events = (
                    await s.exec(
                        select(AlarmEvent).where(
                            AlarmEvent.alarm_id == alarm_id, AlarmEvent.kind == "escalated"
                        )
                    )
                ).all()
                assert sorted(e.data["stage"] for e in events) == [1, 2]
                keys = (
                    await s.exec(
                        select(Notification.user_id, Notification.dedupe_key).where(
                            col(Notification.dedupe_key).startswith(f"alarm:{alarm_id}:esc:")
                        )
                    )
                ).all()
                assert len(keys) == len(set(keys)) == 3  # manager; admin + committee
                alarm = await s.get(Alarm, alarm_id)
                assert alarm is not None and alarm.escalation_stage == 2
    finally:
        await delete_ticket_world(engine, w)
