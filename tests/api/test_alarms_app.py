"""Devices (CRUD, one-time secret, rotation) and the app's alarm API (lists, badge, detail with
history, acknowledge / clear / close / comment); residents see nothing of it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.secrets import decrypt_secret
from services.models import AuditLog
from services.models.alarms import Alarm, AlarmDevice
from tests import factories as f

ISAPI = "/v1/alarm-ingest/isapi"


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def event(kind: str = "fielddetection", state: str = "active") -> bytes:
    return (
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        f"<channelID>1</channelID><dateTime>2026-12-03T15:02:11+08:00</dateTime><activePostCount>1</activePostCount>"
        f"<eventType>{kind}</eventType><eventState>{state}</eventState></EventNotificationAlert>"
    ).encode()


async def raise_alarm(client: httpx.AsyncClient, device: dict[str, Any], kind: str = "fielddetection") -> int:
    r = await client.post(
        ISAPI,
        params={"device": device["serial"], "token": device["secret"]},
        content=event(kind),
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["alarm_id"])


async def test_device_crud_secret_once_and_rotation(
    client: httpx.AsyncClient, db: AsyncSession, settings: Any
) -> None:
    w = await f.ticket_world(db)
    base = f"/v1/communities/{w.cid}/alarm-devices"
    body = {"kind": "camera", "serial": "DS-2CD3T46-001", "name": "3号楼东侧", "mac": "44:19:B6:AA:BB:CC",
            "building_id": w.building.id, "area": "东侧围墙", "lat": 30.2741, "lng": 120.1551, "channel": 1}  # fmt: skip
    assert (await client.post(base, json=body, headers=f.auth(w.resident))).status_code == 403
    assert (await client.post(base, json=body, headers=f.auth(w.technician))).status_code == 403
    assert (await client.post(base, json=body)).status_code == 401
    r = await client.post(base, json=body, headers=f.auth(w.manager))
    assert r.status_code == 201, r.text
    dev = r.json()
    secret = dev["secret"]
    assert len(secret) >= 24 and dev["mac"] == "44:19:b6:aa:bb:cc" and dev["status"] == "online"
    row = await db.get(AlarmDevice, dev["id"])
    assert row is not None and secret not in row.secret_encrypted
    assert decrypt_secret(row, settings) == secret
    # Never shown again.
    r = await client.get(f"/v1/alarm-devices/{dev['id']}", headers=f.auth(w.admin))
    assert r.status_code == 200 and "secret" not in r.json() and "secret_encrypted" not in r.json()
    r = await client.get(base, headers=f.auth(w.manager))
    assert [d["serial"] for d in r.json()] == ["DS-2CD3T46-001"] and "secret" not in r.json()[0]
    r = await client.post(base, json=body, headers=f.auth(w.admin))
    assert r.status_code == 409 and code(r) == "alarm.device_exists"
    r = await client.post(base, json={**body, "serial": "S-1", "kind": "sensor"}, headers=f.auth(w.admin))
    assert r.status_code == 422 and code(r) == "alarm.sensor_kind_required"
    r = await client.post(
        base, json={**body, "serial": "S-2", "allowed_sources": ["not-an-ip"]}, headers=f.auth(w.admin)
    )
    assert r.status_code == 422 and code(r) == "alarm.bad_source"

    r = await client.patch(
        f"/v1/alarm-devices/{dev['id']}", json={"area": "东门岗亭"}, headers=f.auth(w.admin)
    )
    assert r.status_code == 200 and r.json()["area"] == "东门岗亭"

    # Rotation: a new secret, the old one stops working at once.
    await raise_alarm(client, dev | {"secret": secret})
    r = await client.post(f"/v1/alarm-devices/{dev['id']}/rotate-secret", headers=f.auth(w.manager))
    assert r.status_code == 200 and r.json()["secret"] != secret and r.json()["secret_rotated_at"]
    r = await client.post(
        ISAPI,
        params={"device": dev["serial"], "token": secret},
        content=event(),
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 401
    actions = (await db.exec(select(AuditLog.action).where(AuditLog.entity == "alarm_device"))).all()
    assert {"alarm.device_create", "alarm.device_update", "alarm.device_rotate"} <= set(actions)

    assert (
        await client.delete(f"/v1/alarm-devices/{dev['id']}", headers=f.auth(w.manager))
    ).status_code == 204
    assert (await client.get(f"/v1/alarm-devices/{dev['id']}", headers=f.auth(w.manager))).status_code == 404
    # Deleted devices no longer authenticate; the serial may be registered again.
    r = await client.post(base, json=body, headers=f.auth(w.manager))
    assert r.status_code == 201


async def test_lists_badge_and_lifecycle(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    other_building = await f.building(db, w.community)
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)
    cam2 = await f.alarm_device(client, w.manager, w.cid, building_id=other_building.id)
    a1 = await raise_alarm(client, cam, "fielddetection")
    a2 = await raise_alarm(client, cam, "shelteralarm")
    a3 = await raise_alarm(client, cam2, "fielddetection")
    base = f"/v1/communities/{w.cid}/alarms"
    staff = f.auth(w.manager)

    r = await client.get(base, headers=staff)
    assert r.status_code == 200 and [a["id"] for a in r.json()["items"]] == [a3, a2, a1]
    assert r.json()["items"][0]["device_name"] == "东门摄像机"
    r = await client.get(base, params={"limit": 2}, headers=staff)
    assert [a["id"] for a in r.json()["items"]] == [a3, a2] and r.json()["next_cursor"]
    r = await client.get(base, params={"limit": 2, "cursor": r.json()["next_cursor"]}, headers=staff)
    assert [a["id"] for a in r.json()["items"]] == [a1] and r.json()["next_cursor"] is None
    r = await client.get(base, params={"type": "tampering"}, headers=staff)
    assert [a["id"] for a in r.json()["items"]] == [a2]
    r = await client.get(base, params={"building_id": other_building.id}, headers=staff)
    assert [a["id"] for a in r.json()["items"]] == [a3]
    r = await client.get(f"{base}/badge", headers=f.auth(w.committee))
    assert r.json() == {"active_unacknowledged": 3, "active_acknowledged": 0, "critical_unacknowledged": 0}

    # Residents: 403 in their community, 404 for one alarm (nothing to see), 401 strangers.
    assert (await client.get(base, headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(f"{base}/badge", headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(f"/v1/alarms/{a1}", headers=f.auth(w.resident))).status_code == 403
    assert (await client.post(f"/v1/alarms/{a1}/acknowledge", headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(base)).status_code == 401

    r = await client.post(f"/v1/alarms/{a1}/acknowledge", json={"note": "保安已前往"}, headers=staff)
    assert r.status_code == 200 and r.json()["status"] == "active_acknowledged"
    assert r.json()["acknowledged_by"] == w.manager.id
    r = await client.post(f"/v1/alarms/{a1}/acknowledge", headers=staff)
    assert r.status_code == 409 and code(r) == "alarm.already_acknowledged"
    r = await client.post(f"/v1/alarms/{a1}/close", headers=staff)
    assert r.status_code == 409 and code(r) == "alarm.not_cleared"
    r = await client.post(
        f"/v1/alarms/{a1}/comments", json={"note": "监控确认为外卖员翻墙"}, headers=f.auth(w.admin)
    )
    assert r.status_code == 201
    r = await client.post(
        f"/v1/alarms/{a1}/clear", json={"reason": "false_alarm", "note": "误报：树影"}, headers=staff
    )
    assert (
        r.status_code == 200 and r.json()["status"] == "cleared" and r.json()["clear_reason"] == "false_alarm"
    )
    r = await client.post(f"/v1/alarms/{a1}/clear", headers=staff)
    assert r.status_code == 409 and code(r) == "alarm.already_cleared"
    r = await client.post(f"/v1/alarms/{a1}/close", json={"note": "结案"}, headers=staff)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = await client.post(f"/v1/alarms/{a1}/close", headers=staff)
    assert r.status_code == 409 and code(r) == "alarm.closed"
    # A person clears without acknowledging first.
    r = await client.post(f"/v1/alarms/{a2}/clear", headers=staff)
    assert r.status_code == 200 and r.json()["clear_reason"] == "resolved"

    r = await client.get(f"/v1/alarms/{a1}", headers=f.auth(w.committee))
    assert r.status_code == 200
    history = [(e["kind"], e["actor_id"], e["note"]) for e in r.json()["history"]]
    assert history == [
        ("raised", None, None),
        ("notified", None, None),  # routed by the default intrusion rule (services/alarms/rules.py)
        ("acknowledged", w.manager.id, "保安已前往"),
        ("commented", w.admin.id, "监控确认为外卖员翻墙"),
        ("cleared", w.manager.id, "误报：树影"),
        ("closed", w.manager.id, "结案"),
    ]
    assert r.json()["raw_event"]["eventType"] == "fielddetection"
    row = await db.get(Alarm, a1)
    assert row is not None
    await db.refresh(row)
    assert row.closed_by == w.manager.id and row.cleared_by == w.manager.id

    r = await client.get(base, params={"status": "active"}, headers=staff)
    assert [a["id"] for a in r.json()["items"]] == [a3]
    r = await client.get(f"{base}/badge", headers=staff)
    assert r.json()["active_unacknowledged"] == 1
    r = await client.get(
        f"/v1/alarms/{a1}",
        headers=staff,
        params={},
    )
    assert (
        await client.get(f"/v1/alarms/{a1}", headers={**staff, "Accept-Language": "en"})
    ).status_code == 200
    r = await client.post(f"/v1/alarms/{a1}/clear", headers={**staff, "Accept-Language": "en"})
    assert r.json()["error"]["message"] == "The alarm is already cleared"
