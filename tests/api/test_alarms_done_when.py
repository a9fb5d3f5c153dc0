"""Issue 15's "done when", on the demo data: a simulated smoke event from the camera in 3号楼's entrance
hall (Hikvision ISAPI, multipart with its detection JPEG, HTTP Digest) reaches the party member on duty
for that building and the property manager — their pushes through the log push channel and, the alarm
being critical, an SMS at once — warns the building's residents, escalates when nobody acknowledges it,
and becomes a ticket carrying its picture. Runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo
from services.alarms.simulator import CameraEvent, SimReport, load_devices, send_camera
from services.bootstrap import Resources
from services.config import Settings
from services.models import Attachment, Building, Community, Household, Membership, User
from services.models.alarms import Alarm, AlarmDevice, AlarmEscalation, AlarmEvent, AlarmPicture
from services.models.duty import DutyAssignment, DutyShift, DutyShiftAssignee
from services.models.notifications import Notification
from services.phones import normalise_mobile
from tests import factories as f
from tests.conftest import App
from workers.channels.push import LogPushChannel
from workers.tasks.alarm_presence import sweep_escalations
from workers.tasks.deliveries import drain_once

pytestmark = pytest.mark.calendar

CAMERA = "DS2CD-DEMO-H01"  # 3号楼 1单元 门厅


async def _user(db: AsyncSession, phone: str) -> User:
    return (await db.exec(select(User).where(User.phone == normalise_mobile(phone)))).one()


async def _notified(db: AsyncSession, key: str) -> set[int]:
    rows = (await db.exec(select(Notification.user_id).where(Notification.dedupe_key == key))).all()
    return {u for u in rows if u is not None}


async def test_smoke_on_building_3_reaches_duty_and_manager_escalates_and_becomes_a_ticket(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    frozen_clock: time_machine.Coordinates,
) -> None:
    client = app.client
    await demo.seed(settings, sessionmaker=sessionmaker)
    community = (await db.exec(select(Community).where(Community.name == demo.COMMUNITY["name"]))).one()
    cid = community.id or 0
    device = (await db.exec(select(AlarmDevice).where(AlarmDevice.serial == CAMERA))).one()
    building = await db.get(Building, device.building_id)
    assert building is not None and building.name == "3号楼" and device.duty_post_id is not None
    manager = await _user(db, demo.PEOPLE[0].phone)
    # Who holds 3号楼's night security-watch post, or is on its shift running now.
    holders = set(
        (
            await db.exec(select(DutyAssignment.user_id).where(DutyAssignment.post_id == device.duty_post_id))
        ).all()
    )
    holders |= set(
        (
            await db.exec(
                select(DutyShiftAssignee.user_id)
                .join(DutyShift, col(DutyShift.id) == DutyShiftAssignee.shift_id)
                .where(DutyShift.post_id == device.duty_post_id)
            )
        ).all()
    )
    # The manager and the members have the app on their phones (a push each, in the log channel).
    for who in [manager.id, *holders]:
        user = await db.get(User, who)
        assert user is not None
        r = await client.post(
            "/v1/devices",
            json={"token": f"demo-phone-{who:04d}-0000000000000000", "platform": "android"},
            headers=f.auth(user),
        )
        assert r.status_code in (200, 201), r.text

    # The camera posts its smoke detection (Digest handshake, multipart with the JPEG).
    [sim] = [d for d in await load_devices(db, cid, settings) if d.serial == CAMERA]
    status, out = await send_camera(
        client, "", CameraEvent(sim, "smokedetection", True, 1, "multipart"), SimReport(), auth="digest"
    )
    assert status == 200 and out is not None and out["status"] == "created", out
    alarm = await db.get(Alarm, out["alarm_id"])
    assert alarm is not None
    assert (alarm.community_id, alarm.building_id, alarm.type, alarm.severity) == (
        cid,
        building.id,
        "smoke",
        "critical",
    )
    [picture] = (
        await db.exec(
            select(Attachment).join(AlarmPicture, col(AlarmPicture.attachment_id) == Attachment.id)
            .where(AlarmPicture.alarm_id == alarm.id)
        )
    ).all()  # fmt: skip

    # Routed: the member(s) on duty for 3号楼 and the manager, in the same transaction as the alarm.
    [routed] = (
        await db.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id, AlarmEvent.kind == "notified")
        )
    ).all()
    on_duty = set(routed.data["on_duty"])
    assert on_duty and on_duty <= holders
    raised = await _notified(db, f"alarm:{alarm.id}:raised")
    assert {manager.id, *on_duty} <= raised
    # The building's residents are told to keep out of the lifts; residents elsewhere are not.
    warned = await _notified(db, f"alarm:{alarm.id}:emergency")
    in_building = set(
        (
            await db.exec(
                select(Membership.user_id)
                .join(Household, col(Household.id) == Membership.household_id)
                .where(Household.building_id == building.id)
            )
        ).all()
    )
    assert warned and warned <= in_building

    alarm_id, manager_id, manager_phone, picture_key = (
        alarm.id,
        manager.id or 0,
        manager.phone,
        picture.storage_key,
    )
    # The worker hands the pushes to the (log) push channel and the SMS to the SMS provider, once.
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    await db.commit()
    channel = LogPushChannel()
    while (await drain_once(resources, channel)).claimed:
        pass
    pushed_to = {p.token for p in channel.sent}
    assert f"demo-phone-{manager_id:04d}-0000000000000000" in pushed_to
    assert all(f"demo-phone-{u:04d}-0000000000000000" in pushed_to for u in on_duty)
    texted = {m.phone for m in app.sms.sent}
    assert manager_phone in texted
    assert (await drain_once(resources, channel)).claimed == 0

    # Nobody acknowledges: 5 minutes on, the manager is reminded; 15, the community admin and committee.
    frozen_clock.shift(timedelta(minutes=6))
    assert await sweep_escalations(resources) >= 1
    assert manager_id in await _notified(db, f"alarm:{alarm_id}:esc:1")
    frozen_clock.shift(timedelta(minutes=10))
    assert await sweep_escalations(resources) >= 1
    assert await sweep_escalations(resources) == 0  # each stage once
    second = await _notified(db, f"alarm:{alarm_id}:esc:2")
    admins = {
        (await _user(db, p.phone)).id
        for p in demo.PEOPLE
        if p.role in ("community_admin", "committee_member")
    }
    assert second and second <= admins
    db.expire_all()
    stages = (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == alarm_id))).all()
    assert sorted(s.stage for s in stages if s.sent_at is not None) == [1, 2]

    # The manager turns it into a ticket: intake channel alarm, linked both ways, the picture copied.
    fresh = await db.get(User, manager_id)
    assert fresh is not None
    manager_auth = f.auth(fresh)  # a token of now: the clock moved past the first one's 15 minutes
    r = await client.post(f"/v1/alarms/{alarm_id}/ticket", headers=manager_auth)
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["intake_channel"] == "alarm" and ticket["source_alarm_id"] == alarm_id
    copies = (
        await db.exec(
            select(Attachment).where(Attachment.owner_type == "ticket", Attachment.owner_id == ticket["id"])
        )
    ).all()
    assert [(a.purpose, a.storage_key) for a in copies] == [("before", picture_key)]
    r = await client.get(f"/v1/alarms/{alarm_id}", headers=manager_auth)
    assert r.status_code == 200 and r.json()["ticket_id"] == ticket["id"]
    kinds = [e["kind"] for e in r.json()["history"]]
    assert kinds[:1] == ["raised"] and "escalated" in kinds and kinds[-1] == "ticketed"
