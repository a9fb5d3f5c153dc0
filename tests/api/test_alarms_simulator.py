"""The device simulator's payloads through the real doors (what `linli simulate-devices` sends), and the
demo's cameras and gas sensors (services/demo_alarms.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo_alarms
from services.alarms.simulator import (
    CameraEvent,
    SimDevice,
    SimReport,
    detection_jpeg,
    isapi_fields,
    isapi_xml,
    load_devices,
    send_camera,
    send_webhook,
)
from services.config import Settings
from services.models import Building
from services.models.alarms import Alarm, AlarmDevice, AlarmPicture, AlarmStatus
from tests import factories as f


def test_payloads_are_what_cameras_send() -> None:
    device = SimDevice(community_id=1, serial="DS-1", secret="s", kind="camera", mac="44:19:b6:6d:24:85")
    xml = isapi_xml(isapi_fields(device, "fielddetection", True, datetime.now(UTC), 2)).decode()
    assert '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">' in xml
    assert "<eventType>fielddetection</eventType>" in xml and "<activePostCount>2</activePostCount>" in xml
    assert "<dateTime>" in xml and "+08:00</dateTime>" in xml
    assert detection_jpeg()[:3] == b"\xff\xd8\xff"  # a real JPEG


async def test_simulated_camera_and_webhook_events_raise_alarms(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    cam = await f.alarm_device(client, w.manager, w.cid)
    gas = await f.alarm_device(
        client, w.manager, w.cid, kind="sensor", sensor_kind="gas", serial="GAS-SIM-1", name="燃气探测器"
    )
    camera = SimDevice(w.cid, cam["serial"], cam["secret"], "camera")
    sensor = SimDevice(w.cid, gas["serial"], gas["secret"], "sensor", "gas")
    report = SimReport()

    status, first = await send_camera(
        client, "", CameraEvent(camera, "fielddetection", True, 1, "xml"), report
    )
    assert status == 200 and first is not None and first["status"] == "created"
    status, again = await send_camera(
        client, "", CameraEvent(camera, "fielddetection", True, 2, "json"), report
    )
    assert again == {"status": "repeated", "alarm_id": first["alarm_id"]}
    status, smoke = await send_camera(
        client, "", CameraEvent(camera, "smokeDetection", True, 1, "multipart"), report, auth="digest"
    )
    assert status == 200 and smoke is not None and smoke["status"] == "created"
    assert await send_webhook(client, "", sensor, "gas_leak", True, report) == 200

    rows = (await db.exec(select(Alarm).where(Alarm.community_id == w.cid).order_by(col(Alarm.id)))).all()
    assert [(a.type, a.count) for a in rows] == [("intrusion", 2), ("smoke", 1), ("gas_leak", 1)]
    pictures = (await db.exec(select(func.count()).where(AlarmPicture.alarm_id == smoke["alarm_id"]))).one()
    assert pictures == 1
    assert report.answers == {"created": 3, "repeated": 1}
    assert set(report.sent) == {"isapi-xml", "isapi-json", "isapi-multipart", "webhook"}


async def test_demo_devices_live_alarms_and_known_secrets(db: AsyncSession, settings: Settings) -> None:
    c = await f.community(db)
    assert c.id is not None
    for n in range(1, 7):
        db.add(Building(community_id=c.id, name=f"{n}号楼"))
    await db.flush()
    await demo_alarms.seed(db, c.id)
    await demo_alarms.seed(db, c.id)  # idempotent
    devices = (await db.exec(select(AlarmDevice).where(AlarmDevice.community_id == c.id))).all()
    assert sum(d.kind == "camera" for d in devices) == 18
    assert sum(d.sensor_kind == "gas" for d in devices) == 6
    live = (
        await db.exec(
            select(Alarm.type).where(
                Alarm.community_id == c.id, Alarm.status == AlarmStatus.active_unacknowledged
            )
        )
    ).all()
    assert sorted(live) == ["illegal_parking", "intrusion", "off_post"]
    sims = await load_devices(db, c.id, settings)
    assert len(sims) == 24
    assert all(s.secret == demo_alarms.device_secret(s.serial) for s in sims)
