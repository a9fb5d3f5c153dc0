"""Alarm → ticket (issue 15 item 6): one action files a repair ticket linked both ways with the
detection pictures copied; a second call answers 409; a rule with auto_ticket files it as the
system; closing the ticket clears an alarm the device has not cleared."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.tickets import auto_ticket
from services.config import Settings
from services.db import session_factory, transaction
from services.models import (
    Role,
)
from services.models.alarms import (
    Alarm,
    AlarmEvent,
    AlarmPicture,
    AlarmRouteRule,
)
from services.models.attachments import Attachment
from services.models.tickets import Ticket, TicketEvent
from services.tickets.sla_sweep import auto_close
from tests import factories as f
from tests.committed_world import delete_ticket_world
from tests.conftest import committed_client

ISAPI = "/v1/alarm-ingest/isapi"
WEBHOOK = "/v1/alarm-ingest/webhook"


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def event(kind: str = "smokedetection", state: str = "active") -> bytes:
    return (
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        "<channelID>1</channelID><dateTime>2026-06-16T10:00:00+08:00</dateTime>"
        f"<activePostCount>1</activePostCount><eventType>{kind}</eventType>"
        f"<eventState>{state}</eventState></EventNotificationAlert>"
    ).encode()


async def raise_with_picture(
    client: httpx.AsyncClient, device: dict[str, Any], kind: str = "smokedetection"
) -> int:
    files = {
        "event": ("event.xml", event(kind), "application/xml"),
        "pic": ("detection.jpg", f.jpeg_bytes((320, 240)), "image/jpeg"),
    }
    r = await client.post(ISAPI, params={"device": device["serial"], "token": device["secret"]}, files=files)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "created"
    return int(r.json()["alarm_id"])


async def test_alarm_to_ticket_links_copies_pictures_and_is_once_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    device = await f.alarm_device(
        client, w.manager, w.cid, name="3号楼东侧", area="3号楼一层大堂", building_id=w.building.id
    )
    alarm_id = await raise_with_picture(client, device)
    url = f"/v1/alarms/{alarm_id}/ticket"

    # Strangers 401, residents and other communities' staff 403 / 404, unknown alarms 404.
    assert (await client.post(url)).status_code == 401
    r = await client.post(url, headers=f.auth(w.resident))
    assert r.status_code == 403
    other = await f.ticket_world(db)
    r = await client.post(url, headers=f.auth(other.manager))
    assert (r.status_code, code(r)) == (404, "alarm.not_found")
    r = await client.post("/v1/alarms/999999/ticket", headers=f.auth(w.manager))
    assert (r.status_code, code(r)) == (404, "alarm.not_found")
    r = await client.post(url, json={"category": "no-such"}, headers=f.auth(w.manager))
    assert r.status_code == 422
    assert (await db.get(Alarm, alarm_id)).ticket_id is None  # type: ignore[union-attr]

    r = await client.post(url, headers=f.auth(w.manager))
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["intake_channel"] == "alarm" and t["source_alarm_id"] == alarm_id
    assert t["kind"] == "repair" and t["category"] == "public_facility" and t["priority"] == "urgent"
    assert t["building_id"] == w.building.id and t["place"] == "3号楼一层大堂"
    assert t["reporter_id"] == w.manager.id and t["status"] == "submitted"
    assert t["intake_channel_label"] == "设备告警"
    assert [p["purpose"] for p in t["attachments"]] == ["before"]

    # DB: linked both ways, the picture copied over the same stored file, the events written.
    alarm = await db.get(Alarm, alarm_id)
    assert alarm is not None and alarm.ticket_id == t["id"]
    pic = (await db.exec(select(AlarmPicture).where(AlarmPicture.alarm_id == alarm_id))).one()
    original = await db.get(Attachment, pic.attachment_id)
    copies = (
        await db.exec(
            select(Attachment).where(Attachment.owner_type == "ticket", Attachment.owner_id == t["id"])
        )
    ).all()
    assert original is not None and len(copies) == 1
    copy = copies[0]
    assert copy.purpose == "before" and copy.id != original.id
    assert (copy.storage_key, copy.sha256, copy.thumb_key) == (
        original.storage_key,
        original.sha256,
        original.thumb_key,
    )
    served = await client.get(t["attachments"][0]["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    kinds = (
        await db.exec(
            select(AlarmEvent.kind).where(AlarmEvent.alarm_id == alarm_id).order_by(col(AlarmEvent.id))
        )
    ).all()
    assert kinds[-1] == "ticketed"
    ticketed = (
        await db.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.kind == "ticketed")
        )
    ).one()
    assert ticketed.actor_id == w.manager.id and ticketed.data == {
        "ticket_id": t["id"],
        "auto": False,
        "pictures": 1,
    }
    created = (
        await db.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == t["id"], TicketEvent.action == "create")
        )
    ).one()
    assert created.data["alarm_id"] == alarm_id and created.data["auto"] is False

    # The alarm shows its ticket; the ticket its alarm (detail read again).
    r = await client.get(f"/v1/alarms/{alarm_id}", headers=f.auth(w.admin))
    assert r.json()["ticket_id"] == t["id"] and r.json()["history"][-1]["kind_label"] == "转工单"
    r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.manager))
    assert r.json()["source_alarm_id"] == alarm_id

    # Once only: the second call answers 409 with the ticket's id, and no second ticket exists.
    r = await client.post(url, headers=f.auth(w.admin))
    assert (r.status_code, code(r)) == (409, "alarm.already_ticketed")
    assert r.json()["error"]["details"] == {"ticket_id": t["id"]}
    n = (await db.exec(select(Ticket.id).where(Ticket.intake_channel == "alarm"))).all()
    assert n == [t["id"]]

    # An ordinary ticket has no source alarm.
    plain = await f.file_ticket(client, w)
    assert plain["source_alarm_id"] is None


async def test_overrides_english_and_closed_alarm(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    device = await f.alarm_device(client, w.manager, w.cid)
    alarm_id = await raise_with_picture(client, device, kind="fielddetection")
    body = {"category": "door_window", "priority": "normal", "title": "东门围栏破损"}
    r = await client.post(
        f"/v1/alarms/{alarm_id}/ticket", json=body, headers={**f.auth(w.committee), "Accept-Language": "en"}
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["category"], t["priority"], t["title"]) == ("door_window", "normal", "东门围栏破损")
    assert t["intake_channel_label"] == "Device alarm"

    second = await raise_with_picture(client, await f.alarm_device(client, w.manager, w.cid))
    assert (await client.post(f"/v1/alarms/{second}/clear", headers=f.auth(w.manager))).status_code == 200
    assert (await client.post(f"/v1/alarms/{second}/close", headers=f.auth(w.manager))).status_code == 200
    r = await client.post(
        f"/v1/alarms/{second}/ticket", headers={**f.auth(w.manager), "Accept-Language": "en"}
    )
    assert (r.status_code, code(r)) == (409, "alarm.closed")
    assert r.json()["error"]["message"] == "The alarm is closed"


async def _close_ticket(
    client: httpx.AsyncClient, w: f.TicketWorld, reporter: Any, tid: int
) -> dict[str, Any]:
    t = (await client.get(f"/v1/tickets/{tid}", headers=f.auth(w.manager))).json()
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    r = await f.act(client, w.technician, r.json(), "start")
    assert r.status_code == 200, r.text
    assert (await f.upload_photo(client, w.technician, tid, "after")).status_code == 201
    r = await f.act(client, w.technician, r.json(), "resolve", note="更换烟感探头")
    assert r.status_code == 200, r.text
    r = await f.act(client, reporter, r.json(), "close")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_closing_the_ticket_clears_the_alarm(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    device = await f.alarm_device(client, w.manager, w.cid)
    alarm_id = await raise_with_picture(client, device)
    assert (
        await client.post(f"/v1/alarms/{alarm_id}/acknowledge", headers=f.auth(w.manager))
    ).status_code == 200
    t = (await client.post(f"/v1/alarms/{alarm_id}/ticket", headers=f.auth(w.manager))).json()
    closed = await _close_ticket(client, w, w.manager, t["id"])
    assert closed["status"] == "closed"

    alarm = await db.get(Alarm, alarm_id)
    assert alarm is not None
    await db.refresh(alarm)
    assert (alarm.status, alarm.clear_reason, alarm.cleared_by) == ("cleared", "ticket_closed", w.manager.id)
    last = (
        await db.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(col(AlarmEvent.id).desc())
        )
    ).first()
    assert last is not None and last.kind == "cleared" and last.note == "工单已关闭"
    assert last.data == {"reason": "ticket_closed", "ticket_id": t["id"]}

    # An alarm the device cleared first stays as the device left it.
    second = await raise_with_picture(client, device, kind="fielddetection")
    t2 = (await client.post(f"/v1/alarms/{second}/ticket", headers=f.auth(w.manager))).json()
    r = await client.post(
        ISAPI,
        params={"device": device["serial"], "token": device["secret"]},
        content=event("fielddetection", "inactive"),
        headers={"Content-Type": "application/xml"},
    )
    assert r.json()["status"] == "cleared"
    await _close_ticket(client, w, w.manager, t2["id"])
    row = await db.get(Alarm, second)
    assert row is not None
    await db.refresh(row)
    assert (row.status, row.clear_reason) == ("cleared", "device")
    kinds = (await db.exec(select(AlarmEvent.kind).where(AlarmEvent.alarm_id == second))).all()
    assert kinds.count("cleared") == 1


async def test_auto_ticket_by_stored_rule_and_direct_call(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    db.add(AlarmRouteRule(community_id=w.cid, type="water_leak", recipient_roles=[Role.property_manager],
                          channels=["app"], auto_ticket=True))  # fmt: skip
    db.add(AlarmRouteRule(community_id=w.cid, type="gas_leak", auto_ticket=True, enabled=False))
    await db.flush()
    sensor = await f.alarm_device(
        client,
        w.admin,
        w.cid,
        kind="sensor",
        sensor_kind="water_leak",
        name="B1 水泵房",
        area="地下一层水泵房",
    )
    body = b'{"event_id": "evt-1", "type": "water_leak", "state": "active", "occurred_at": "2026-06-16T10:00:00+08:00"}'
    r = await client.post(
        WEBHOOK, content=body, headers=f.webhook_headers(sensor["serial"], sensor["secret"], body)
    )
    assert r.status_code == 200 and r.json()["status"] == "created", r.text
    alarm = await db.get(Alarm, r.json()["alarm_id"])
    assert alarm is not None and alarm.ticket_id is not None
    t = await db.get(Ticket, alarm.ticket_id)
    assert t is not None
    # Filed as the system in the name of whoever registered the device (the community admin here).
    assert (t.intake_channel, t.category, t.priority, t.place) == (
        "alarm",
        "plumbing",
        "high",
        "地下一层水泵房",
    )
    assert t.created_by_id == w.admin.id and t.reporter_id == w.admin.id
    ev = (
        await db.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm.id, AlarmEvent.kind == "ticketed")
        )
    ).one()
    assert ev.actor_id is None and ev.data["auto"] is True
    # Calling it again (the routing may too) is harmless.
    assert await auto_ticket(db, alarm) is None

    # A disabled rule files nothing; the function called directly does (falls back to a manager
    # when the device has no owner).
    gas = await f.alarm_device(client, w.manager, w.cid, kind="sensor", sensor_kind="gas", name="燃气表间")
    body = b'{"event_id": "evt-2", "type": "gas_leak", "state": "active", "occurred_at": "2026-06-16T10:00:00+08:00"}'
    r = await client.post(
        WEBHOOK, content=body, headers=f.webhook_headers(gas["serial"], gas["secret"], body)
    )
    gas_alarm = await db.get(Alarm, r.json()["alarm_id"])
    assert gas_alarm is not None and gas_alarm.ticket_id is None
    ticket = await auto_ticket(db, gas_alarm)
    assert ticket is not None and gas_alarm.ticket_id == ticket.id and ticket.created_by_id == w.manager.id
    r = await client.get(f"/v1/tickets/{ticket.id}", headers=f.auth(w.manager))
    assert r.status_code == 200 and r.json()["source_alarm_id"] == gas_alarm.id
    assert r.json()["priority"] == "urgent" and r.json()["category"] == "public_facility"

    # Resolved and left unconfirmed: the system closes it after 3 days, and that clears the alarm too.
    t = r.json()
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "start")
    assert (await f.upload_photo(client, w.technician, ticket.id, "after")).status_code == 201
    r = await f.act(client, w.technician, r.json(), "resolve", note="更换燃气阀")
    assert r.status_code == 200, r.text
    db.expire_all()  # the sweep reads the ticket as the requests left it (a job has a fresh session)
    assert await auto_close(db, now=datetime.now(UTC) + timedelta(days=4)) == 1
    await db.refresh(gas_alarm)
    assert (gas_alarm.status, gas_alarm.clear_reason, gas_alarm.cleared_by) == (
        "cleared",
        "ticket_closed",
        None,
    )


async def test_parallel_requests_make_one_ticket(settings: Settings, engine: AsyncEngine) -> None:
    """Four staff press "turn into ticket" at once: one ticket, the others 409 with its id (the alarm
    row is locked on PostgreSQL; SQLite serialises writers at BEGIN)."""
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    try:
        async with committed_client(settings, engine, maker) as client:
            device = await f.alarm_device(client, w.manager, w.cid)
            r = await client.post(
                ISAPI,
                params={"device": device["serial"], "token": device["secret"]},
                content=event("fielddetection"),
                headers={"Content-Type": "application/xml"},
            )
            alarm_id = r.json()["alarm_id"]
            who = (w.manager, w.admin, w.committee, w.manager)
            answers = await asyncio.gather(
                *(client.post(f"/v1/alarms/{alarm_id}/ticket", headers=f.auth(u)) for u in who)
            )
            codes = sorted(r.status_code for r in answers)
            assert codes == [201, 409, 409, 409], [r.text for r in answers]
            won = next(r.json() for r in answers if r.status_code == 201)
            for r in answers:
                if r.status_code == 409:
                    assert code(r) == "alarm.already_ticketed"
        async with maker() as s:
            tickets = (await s.exec(select(Ticket.id).where(Ticket.community_id == w.cid))).all()
            alarm = await s.get(Alarm, alarm_id)
        assert tickets == [won["id"]] and alarm is not None and alarm.ticket_id == won["id"]
    finally:
        await delete_ticket_world(engine, w)


async def test_a_water_leak_files_its_ticket_by_default(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)  # no stored rule: the defaults apply
    sensor = await f.alarm_device(
        client, w.manager, w.cid, kind="sensor", sensor_kind="water_leak", name="B1 水泵房"
    )
    body = b'{"event_id": "evt-9", "type": "water_leak", "state": "active", "occurred_at": "2026-06-16T10:00:00+08:00"}'
    r = await client.post(
        WEBHOOK, content=body, headers=f.webhook_headers(sensor["serial"], sensor["secret"], body)
    )
    assert r.status_code == 200 and r.json()["status"] == "created", r.text
    alarm = await db.get(Alarm, r.json()["alarm_id"])
    assert alarm is not None and alarm.ticket_id is not None
    r = await client.get(f"/v1/communities/{w.cid}/alarm-rules", headers=f.auth(w.manager))
    [leak] = [rule for rule in r.json() if rule["type"] == "water_leak"]
    assert leak["auto_ticket"] is True and leak["is_default"] is True


async def test_a_rejected_ticket_lets_the_alarm_be_ticketed_again(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A ticket that was cancelled or rejected did not deal with the alarm: staff may file another;
    a live one still answers 409 with its id."""
    w = await f.ticket_world(db)
    device = await f.alarm_device(client, w.manager, w.cid)
    alarm_id = await raise_with_picture(client, device)
    url = f"/v1/alarms/{alarm_id}/ticket"
    first = await client.post(url, headers=f.auth(w.manager))
    assert first.status_code == 201, first.text
    r = await f.act(client, w.manager, first.json(), "reject", reason_code="duplicate", reason="误报重复")
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text

    second = await client.post(url, headers=f.auth(w.committee))
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["source_alarm_id"] == alarm_id
    linked = (await db.exec(select(Alarm.ticket_id).where(Alarm.id == alarm_id))).one()
    assert linked == second.json()["id"]
    ticketed = (
        await db.exec(
            select(AlarmEvent.data)
            .where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.kind == "ticketed")
            .order_by(col(AlarmEvent.id))
        )
    ).all()
    assert [d["ticket_id"] for d in ticketed] == [first.json()["id"], second.json()["id"]]

    r = await client.post(url, headers=f.auth(w.manager))
    assert (r.status_code, code(r)) == (409, "alarm.already_ticketed")
    assert r.json()["error"]["details"] == {"ticket_id": second.json()["id"]}
