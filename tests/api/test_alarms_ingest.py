"""The device doors (issue 15): ISAPI with HTTP Digest or a token, the signed webhook, and every kind
of bad input refused with an error body, nothing written, counted in metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.alarms import Alarm, AlarmEvent, AlarmPicture, AlarmWebhookReceipt
from services.models.attachments import Attachment
from tests import factories as f

FIXTURES = Path(__file__).parent / "fixtures" / "alarms"
ISAPI = "/v1/alarm-ingest/isapi"
WEBHOOK = "/v1/alarm-ingest/webhook"
XML = {"Content-Type": "application/xml; charset=UTF-8"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def rejected(door: str, code: str) -> float:
    return REGISTRY.get_sample_value("linli_alarm_ingest_rejected_total", {"door": door, "code": code}) or 0.0


async def count(db: AsyncSession, model: Any) -> int:
    return int((await db.exec(select(func.count()).select_from(model))).one())


async def world(client: httpx.AsyncClient, db: AsyncSession) -> tuple[f.TicketWorld, dict[str, Any]]:
    w = await f.ticket_world(db)
    device = await f.alarm_device(
        client, w.manager, w.cid, mac="44-19-B6-12-34-56", building_id=w.building.id
    )
    return w, device


async def test_isapi_digest_raises_repeats_and_clears_one_alarm(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w, device = await world(client, db)
    auth = httpx.DigestAuth(device["serial"], device["secret"])
    params = {"device": device["serial"]}

    # Without credentials: the Digest challenge of realm "linli".
    r = await client.post(ISAPI, params=params, content=fixture("fielddetection_active.xml"), headers=XML)
    assert r.status_code == 401 and code(r) == "alarm.ingest_digest_required"
    assert 'realm="linli"' in r.headers["www-authenticate"] and "qop" in r.headers["www-authenticate"]

    r = await client.post(
        ISAPI, params=params, content=fixture("fielddetection_active.xml"), headers=XML, auth=auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "created"
    alarm_id = r.json()["alarm_id"]
    # activePostCount 2 and the same event again: the same alarm counts up, no new row.
    for _ in range(2):
        r = await client.post(
            ISAPI, params=params, content=fixture("fielddetection_repeat.xml"), headers=XML, auth=auth
        )
        assert r.json() == {"status": "repeated", "alarm_id": alarm_id}
    alarm = (await db.exec(select(Alarm).where(Alarm.id == alarm_id))).one()
    await db.refresh(alarm)
    assert (alarm.type, alarm.count, alarm.status, alarm.community_id) == (
        "intrusion",
        3,
        "active_unacknowledged",
        w.cid,
    )
    assert alarm.building_id == w.building.id and alarm.severity == "major"
    assert (
        alarm.raw_event["eventType"] == "fielddetection" and alarm.raw_event["channelName"] == "3号楼东侧围墙"
    )
    assert alarm.raw_event["DetectionRegionList"]["DetectionRegionEntry"]["detectionTarget"] == "human"

    r = await client.post(
        ISAPI, params=params, content=fixture("fielddetection_inactive.xml"), headers=XML, auth=auth
    )
    assert r.json() == {"status": "cleared", "alarm_id": alarm_id}
    await db.refresh(alarm)
    assert alarm.status == "cleared" and alarm.clear_reason == "device"
    kinds = (
        await db.exec(
            select(AlarmEvent.kind).where(AlarmEvent.alarm_id == alarm_id).order_by(col(AlarmEvent.id))
        )
    ).all()
    assert kinds == ["raised", "notified", "repeated", "repeated", "cleared"]
    # inactive again with nothing active: stored, nothing created.
    r = await client.post(
        ISAPI, params=params, content=fixture("fielddetection_inactive.xml"), headers=XML, auth=auth
    )
    assert r.json() == {"status": "stored", "alarm_id": None}
    # A new active event after the clear is a new alarm.
    r = await client.post(
        ISAPI, params=params, content=fixture("fielddetection_active.xml"), headers=XML, auth=auth
    )
    assert r.json()["status"] == "created" and r.json()["alarm_id"] != alarm_id


async def test_isapi_token_json_mac_and_multipart_picture(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w, device = await world(client, db)
    # The MAC names the device as well as the serial; JSON EventNotificationAlert.
    params = {"device": "44:19:b6:12:34:56", "token": device["secret"]}
    r = await client.post(
        ISAPI,
        params=params,
        content=fixture("shelteralarm.json"),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    alarm = await db.get(Alarm, r.json()["alarm_id"])
    assert alarm is not None and alarm.type == "tampering"

    # multipart: the XML part and the detection JPEG, stored like a ticket photo.
    files = {
        "fielddetection": ("event.xml", fixture("fielddetection_active.xml"), "application/xml"),
        "pic": ("detection.jpg", f.jpeg_bytes((320, 240)), "image/jpeg"),
    }
    r = await client.post(ISAPI, params=params, files=files)
    assert r.status_code == 200, r.text
    alarm_id = r.json()["alarm_id"]
    pictures = (await db.exec(select(AlarmPicture).where(AlarmPicture.alarm_id == alarm_id))).all()
    assert len(pictures) == 1
    att = await db.get(Attachment, pictures[0].attachment_id)
    assert (
        att is not None
        and att.owner_type == "alarm"
        and att.content_type == "image/jpeg"
        and att.width == 320
    )

    r = await client.get(f"/v1/alarms/{alarm_id}", headers=f.auth(w.manager))
    assert r.status_code == 200 and len(r.json()["pictures"]) == 1
    pic = await client.get(r.json()["pictures"][0]["url"])
    assert pic.status_code == 200 and pic.headers["content-type"] == "image/jpeg"


async def test_webhook_signed_replay_and_clear(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, _ = await world(client, db)
    sensor = await f.alarm_device(
        client, w.admin, w.cid, kind="sensor", sensor_kind="water_leak", name="B1 水泵房"
    )
    event = {
        "event_id": "evt-1",
        "type": "water_leak",
        "state": "active",
        "occurred_at": datetime.now(UTC).isoformat(),
        "value": 1,
    }
    body = json.dumps(event).encode()
    r = await client.post(
        WEBHOOK, content=body, headers=f.webhook_headers(sensor["serial"], sensor["secret"], body)
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "created"
    alarm_id = r.json()["alarm_id"]
    # The same event id again: 200 replayed, not a repeat.
    r = await client.post(
        WEBHOOK, content=body, headers=f.webhook_headers(sensor["serial"], sensor["secret"], body)
    )
    assert r.json() == {"status": "replayed", "alarm_id": alarm_id}
    alarm = await db.get(Alarm, alarm_id)
    assert alarm is not None and alarm.count == 1 and alarm.source == "webhook"
    body = json.dumps({**event, "event_id": "evt-2", "state": "inactive"}).encode()
    r = await client.post(
        WEBHOOK, content=body, headers=f.webhook_headers(sensor["serial"], sensor["secret"], body)
    )
    assert r.json() == {"status": "cleared", "alarm_id": alarm_id}
    assert await count(db, AlarmWebhookReceipt) == 2


async def test_bad_input_is_refused_and_nothing_written(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, device = await world(client, db)
    sensor = await f.alarm_device(client, w.manager, w.cid, kind="sensor", sensor_kind="gas", name="燃气表间")
    ok = {
        "event_id": "e",
        "type": "gas_leak",
        "state": "active",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(ok).encode()
    now = int(datetime.now(UTC).timestamp())
    before = {
        k: rejected("webhook", k)
        for k in ("alarm.ingest_unknown_device", "alarm.ingest_bad_signature", "alarm.ingest_stale")
    }

    cases = [
        (f.webhook_headers("NO-SUCH-DEVICE", sensor["secret"], body), 401, "alarm.ingest_unknown_device"),
        (f.webhook_headers(sensor["serial"], "wrong-secret", body), 401, "alarm.ingest_bad_signature"),
        (
            f.webhook_headers(sensor["serial"], sensor["secret"], body, ts=now - 301),
            401,
            "alarm.ingest_stale",
        ),
        (
            f.webhook_headers(sensor["serial"], sensor["secret"], body, ts=now + 600),
            401,
            "alarm.ingest_stale",
        ),
        (
            {**f.webhook_headers(sensor["serial"], sensor["secret"], body), "X-Linli-Signature": ""},
            401,
            "alarm.ingest_bad_signature",
        ),
    ]
    for headers, status, want in cases:
        r = await client.post(WEBHOOK, content=body, headers=headers)
        assert (r.status_code, code(r)) == (status, want), r.text
        assert r.json()["error"]["message"]
    assert rejected("webhook", "alarm.ingest_unknown_device") == before["alarm.ingest_unknown_device"] + 1
    assert rejected("webhook", "alarm.ingest_bad_signature") == before["alarm.ingest_bad_signature"] + 2
    assert rejected("webhook", "alarm.ingest_stale") == before["alarm.ingest_stale"] + 2
    bad = b'{"event_id": "x", "type": "no_such_type", "state": "active"}'
    r = await client.post(
        WEBHOOK, content=bad, headers=f.webhook_headers(sensor["serial"], sensor["secret"], bad)
    )
    assert (r.status_code, code(r)) == (422, "alarm.ingest_malformed")

    token = {"device": device["serial"], "token": device["secret"]}
    r = await client.post(
        ISAPI, params={**token, "token": "nope"}, content=fixture("fielddetection_active.xml"), headers=XML
    )
    assert (r.status_code, code(r)) == (401, "alarm.ingest_unauthorized")
    r = await client.post(
        ISAPI,
        params={"device": "DS-UNKNOWN", "token": "x"},
        content=fixture("fielddetection_active.xml"),
        headers=XML,
    )
    assert (r.status_code, code(r)) == (401, "alarm.ingest_unknown_device")
    r = await client.post(ISAPI, params=token, content=b"<EventNotificationAlert><eventType>", headers=XML)
    assert (r.status_code, code(r)) == (422, "alarm.ingest_malformed")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i else b"&lol;") * 10)
            for i in range(1, 10)
        )
        + b"]><EventNotificationAlert><eventType>&lol9;</eventType></EventNotificationAlert>"
    )
    r = await client.post(ISAPI, params=token, content=bomb, headers=XML)
    assert (r.status_code, code(r)) == (422, "alarm.ingest_malformed")
    r = await client.post(ISAPI, params=token, content=b"hello", headers={"Content-Type": "text/plain"})
    assert (r.status_code, code(r)) == (422, "alarm.ingest_unsupported_media")
    # A 50 MB body is refused before it is read.
    r = await client.post(ISAPI, params=token, content=b"<" * (50 * 1024 * 1024), headers=XML)
    assert (r.status_code, code(r)) == (413, "request.too_large")
    # A "picture" that is not an image refuses the whole event.
    files = {
        "event": ("event.xml", fixture("fielddetection_active.xml"), "application/xml"),
        "pic": ("detection.jpg", b"MZ\x90\x00 not a jpeg", "image/jpeg"),
    }
    r = await client.post(ISAPI, params=token, files=files)
    assert (r.status_code, code(r)) == (422, "attachment.unsupported_type")

    assert await count(db, Alarm) == 0
    assert await count(db, AlarmEvent) == 0
    assert await count(db, AlarmWebhookReceipt) == 0
    assert (await db.exec(select(func.count()).where(Attachment.owner_type == "alarm"))).one() == 0


async def test_allow_list_and_disabled_device(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, device = await world(client, db)
    token = {"device": device["serial"], "token": device["secret"]}
    r = await client.patch(
        f"/v1/alarm-devices/{device['id']}",
        json={"allowed_sources": ["10.0.0.0/8"]},
        headers=f.auth(w.manager),
    )
    assert r.status_code == 200 and r.json()["allowed_sources"] == ["10.0.0.0/8"]
    r = await client.post(ISAPI, params=token, content=fixture("fielddetection_active.xml"), headers=XML)
    assert (r.status_code, code(r)) == (403, "alarm.ingest_source_refused")  # the test client is 203.0.113.7
    r = await client.patch(
        f"/v1/alarm-devices/{device['id']}",
        json={"allowed_sources": ["203.0.113.0/24"]},
        headers=f.auth(w.manager),
    )
    r = await client.post(ISAPI, params=token, content=fixture("fielddetection_active.xml"), headers=XML)
    assert r.status_code == 200
    r = await client.patch(
        f"/v1/alarm-devices/{device['id']}", json={"status": "disabled"}, headers=f.auth(w.manager)
    )
    r = await client.post(ISAPI, params=token, content=fixture("fielddetection_repeat.xml"), headers=XML)
    assert (r.status_code, code(r)) == (403, "alarm.ingest_device_disabled")


async def test_a_device_of_a_never_raises_in_b(client: httpx.AsyncClient, db: AsyncSession) -> None:
    a, dev_a = await world(client, db)
    b = await f.ticket_world(db)
    dev_b = await f.alarm_device(client, b.manager, b.cid)
    # A's serial with B's secret (or a Digest answer under B's name) is refused.
    r = await client.post(
        ISAPI,
        params={"device": dev_a["serial"], "token": dev_b["secret"]},
        content=fixture("fielddetection_active.xml"),
        headers=XML,
    )
    assert r.status_code == 401
    r = await client.post(
        ISAPI, params={"device": dev_a["serial"]}, content=fixture("fielddetection_active.xml"), headers=XML,
        auth=httpx.DigestAuth(dev_b["serial"], dev_b["secret"]),
    )  # fmt: skip
    assert r.status_code == 401
    r = await client.post(
        ISAPI,
        params={"device": dev_a["serial"], "token": dev_a["secret"]},
        content=fixture("fielddetection_active.xml"),
        headers=XML,
    )
    alarm = await db.get(Alarm, r.json()["alarm_id"])
    assert alarm is not None and alarm.community_id == a.cid
    r = await client.get(f"/v1/communities/{b.cid}/alarms", headers=f.auth(b.manager))
    assert r.status_code == 200 and r.json()["items"] == []
    assert (await client.get(f"/v1/alarms/{alarm.id}", headers=f.auth(b.manager))).status_code == 404


@pytest.mark.parametrize("name", ["VMD", "linedetection", "regionEntrance", "videoloss", "tamperdetection"])
async def test_confirmed_event_types_map(client: httpx.AsyncClient, db: AsyncSession, name: str) -> None:
    _, device = await world(client, db)
    xml = fixture("fielddetection_active.xml").replace(b"fielddetection", name.encode())
    r = await client.post(
        ISAPI, params={"device": device["serial"], "token": device["secret"]}, content=xml, headers=XML
    )
    alarm = await db.get(Alarm, r.json()["alarm_id"])
    want = {
        "VMD": "motion",
        "linedetection": "intrusion",
        "regionEntrance": "intrusion",
        "videoloss": "video_loss",
        "tamperdetection": "tampering",
    }
    assert alarm is not None and alarm.type == want[name]


async def test_digest_with_an_expired_nonce_or_another_uri_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, settings: Any
) -> None:
    import hashlib
    import time

    from services.alarms.ingest import new_nonce

    _, device = await world(client, db)

    def answer(nonce: str, uri: str) -> str:
        def md5(text: str) -> str:
            return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # Digest is MD5 by spec

        ha1 = md5(f"{device['serial']}:linli:{device['secret']}")
        resp = md5(f"{ha1}:{nonce}:00000001:abc:auth:{md5('POST:' + uri)}")
        return (
            f'Digest username="{device["serial"]}", realm="linli", nonce="{nonce}", uri="{uri}", '
            f'qop=auth, nc=00000001, cnonce="abc", response="{resp}", algorithm=MD5'
        )

    uri = f"{ISAPI}?device={device['serial']}"
    fresh = new_nonce(settings.jwt_key())
    r = await client.post(
        uri,
        content=fixture("fielddetection_active.xml"),
        headers={**XML, "Authorization": answer(fresh, uri)},
    )
    assert r.status_code == 200, r.text
    old = new_nonce(settings.jwt_key(), time.time() - 3600)
    r = await client.post(
        uri, content=fixture("fielddetection_active.xml"), headers={**XML, "Authorization": answer(old, uri)}
    )
    assert (r.status_code, code(r)) == (401, "alarm.ingest_stale") and "nonce" in r.headers[
        "www-authenticate"
    ]
    # An answer computed for another URL does not open this one.
    r = await client.post(
        uri,
        content=fixture("fielddetection_active.xml"),
        headers={**XML, "Authorization": answer(fresh, ISAPI + "?device=other")},
    )
    assert (r.status_code, code(r)) == (401, "alarm.ingest_unauthorized")


async def test_odd_bodies_are_4xx_or_stored_never_500(client: httpx.AsyncClient, db: AsyncSession) -> None:
    _, device = await world(client, db)
    token = {"device": device["serial"], "token": device["secret"]}
    json_type = {"Content-Type": "application/json"}
    # A NUL in a JSON event is dropped (PostgreSQL's JSON cannot hold it), the event kept.
    r = await client.post(
        ISAPI, params=token, content=b'{"eventType": "VMD", "channelName": "a\\u0000b"}', headers=json_type
    )
    assert r.status_code == 200, r.text
    alarm = await db.get(Alarm, r.json()["alarm_id"])
    assert alarm is not None and alarm.raw_event["channelName"] == "ab"
    for body in (b'{"eventType": 5}', b"[1, 2]", b'{"eventType": "VMD", "eventState": "maybe"}', b"\xff\xfe"):
        r = await client.post(ISAPI, params=token, content=body, headers=json_type)
        assert (r.status_code, code(r)) == (422, "alarm.ingest_malformed"), body
    r = await client.post(ISAPI, params=token, content=b"<Other/>", headers=XML)
    assert (r.status_code, code(r)) == (422, "alarm.ingest_malformed")
    r = await client.post(
        ISAPI,
        params=token,
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert 400 <= r.status_code < 500
    r = await client.post(ISAPI, params=token, files={"pic": ("a.jpg", f.jpeg_bytes(), "image/jpeg")})
    assert (r.status_code, code(r)) == (422, "alarm.ingest_unsupported_media")  # pictures but no event
    nul_id = (
        b'{"event_id": "a\\u0000", "type": "other", "state": "active", "occurred_at": "2026-12-03T07:00:00Z"}'
    )
    r = await client.post(
        WEBHOOK, content=nul_id, headers=f.webhook_headers(device["serial"], device["secret"], nul_id)
    )
    assert (r.status_code, code(r)) == (422, "alarm.ingest_malformed")


async def test_record_signal_directly_as_other_doors_call_it(
    client: httpx.AsyncClient, db: AsyncSession, settings: Any
) -> None:
    """The entry MQTT and the offline sweep use: a reading raises, repeats, clears; a disabled device
    raises nothing."""
    from services.alarms.lifecycle import record_signal
    from services.alarms.signals import AlarmSignal, SignalSource
    from services.models.alarms import AlarmDevice, AlarmType

    w, _ = await world(client, db)
    dev = await f.alarm_device(
        client, w.manager, w.cid, kind="sensor", sensor_kind="gas", threshold=20, unit="%LEL"
    )
    device = await db.get(AlarmDevice, dev["id"])
    assert device is not None and device.threshold == 20
    now = datetime.now(UTC)
    up = AlarmSignal(
        type=AlarmType.gas_leak, active=True, occurred_at=now, source=SignalSource.mqtt, value=25.0
    )
    first = await record_signal(db, device, up, settings=settings)
    again = await record_signal(
        db,
        device,
        AlarmSignal(type=AlarmType.gas_leak, active=True, occurred_at=now, value=31.0),
        settings=settings,
    )
    assert (first.status, again.status, again.alarm_id) == ("created", "repeated", first.alarm_id)
    alarm = await db.get(Alarm, first.alarm_id)
    assert alarm is not None and (alarm.severity, alarm.value, alarm.count, alarm.source) == (
        "critical",
        31.0,
        2,
        "mqtt",
    )
    down = await record_signal(
        db, device, AlarmSignal(type=AlarmType.gas_leak, active=False, occurred_at=now), settings=settings
    )
    assert down.status == "cleared"
    device.status = "disabled"
    assert (await record_signal(db, device, up, settings=settings)).status == "stored"


async def test_curls_empty_digest_probe_gets_the_challenge_then_multipart_goes_through(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """`curl --digest -F …` first sends the POST with no body and no media type, expecting the 401
    challenge; a 422 there would stop it from ever sending the event."""
    _w, device = await world(client, db)
    params = {"device": device["serial"]}
    r = await client.post(ISAPI, params=params, headers={"Content-Length": "0"})
    assert r.status_code == 401 and code(r) == "alarm.ingest_digest_required"
    assert r.headers["www-authenticate"].startswith("Digest ")
    auth = httpx.DigestAuth(device["serial"], device["secret"])
    files = {
        "event": ("event.xml", fixture("fielddetection_active.xml"), "application/xml"),
        "pic": ("detection.jpg", f.jpeg_bytes(), "image/jpeg"),
    }
    r = await client.post(ISAPI, params=params, files=files, auth=auth)
    assert r.status_code == 200 and r.json()["status"] == "created", r.text
    assert await count(db, AlarmPicture) == 1
    # Without any credentials a body is never parsed: garbage gets the challenge, not a 422.
    r = await client.post(
        ISAPI, params=params, content=b"\x00garbage", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 401 and code(r) == "alarm.ingest_digest_required"
