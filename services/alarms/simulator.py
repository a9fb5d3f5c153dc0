"""A device simulator (`linli simulate-devices`, bench/alarms_bench.py): what real cameras and sensors
send to Linli's three doors, at a chosen rate.

- Cameras: Hikvision ISAPI "HTTP listening" posts, `EventNotificationAlert` as XML (namespace
  ver20), as JSON, or as multipart/form-data with the XML and a detection picture (a real JPEG),
  authenticated with the device token in the URL (or HTTP Digest).
- Sensor platforms: the signed JSON webhook (HMAC-SHA256 over "<timestamp>.<body>").
- IoT sensors: MQTT readings and heartbeats on linli/<community>/<serial>/reading|heartbeat.

Every payload builder is a pure function, so tests and the bench build exactly what the simulator
sends. The wire contract is in the README (alarms section).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

import orjson

ISAPI_NS = "http://www.hikvision.com/ver20/XMLSchema"
CHINA = timezone(timedelta(hours=8))
# eventType names as Hikvision cameras send them (smart events and VCA behaviour analysis).
CAMERA_EVENTS = (
    "fielddetection",
    "linedetection",
    "regionEntrance",
    "smokeDetection",
    "fireDetection",
    "illegalParking",
    "leavePosition",
    "sleeping",
    "shelteralarm",
    "videoloss",
    "vmd",
)
# What a sensor reads when all is well and when it alarms, by sensor kind.
SENSOR_READINGS: dict[str, tuple[float, float, str]] = {
    "gas": (2.0, 35.0, "%LEL"),
    "smoke": (0.0, 1.0, ""),
    "water_leak": (0.0, 1.0, ""),
    "door_contact": (0.0, 1.0, ""),
}


@dataclass(frozen=True)
class SimDevice:
    community_id: int
    serial: str
    secret: str
    kind: str  # camera / nvr / sensor
    sensor_kind: str | None = None
    mac: str | None = None
    channel: int = 1
    name: str = ""


# --------------------------------------------------------------------------- payloads


def isapi_fields(
    device: SimDevice, event_type: str, active: bool, at: datetime, post_count: int = 1
) -> dict[str, Any]:
    return {
        "ipAddress": "192.168.1.64",
        "portNo": 80,
        "protocol": "HTTP",
        "macAddress": device.mac or "44:19:b6:6d:24:85",
        "channelID": device.channel,
        "dateTime": at.astimezone(CHINA).isoformat(timespec="seconds"),
        "activePostCount": post_count,
        "eventType": event_type,
        "eventState": "active" if active else "inactive",
        "eventDescription": f"{event_type} alarm",
        "channelName": device.name or device.serial,
    }


def isapi_xml(fields: dict[str, Any]) -> bytes:
    body = "".join(f"<{k}>{escape(str(v))}</{k}>\n" for k, v in fields.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<EventNotificationAlert version="2.0" xmlns="{ISAPI_NS}">\n{body}</EventNotificationAlert>\n'
    ).encode()


def isapi_json(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields)


@lru_cache(maxsize=1)
def detection_jpeg() -> bytes:
    """A small real JPEG (a dark scene with a red detection box), made with Pillow."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 180), (38, 44, 52))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 120, 320, 180), fill=(70, 74, 80))
    draw.rectangle((120, 50, 200, 150), outline=(230, 30, 30), width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def isapi_multipart(fields: dict[str, Any], picture: bytes, boundary: str = "boundary") -> tuple[bytes, str]:
    """The form-data post of a camera that sends pictures: the XML under the event's name, then
    the detection picture. Returns (body, content type)."""
    event = str(fields["eventType"])
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{event}"\r\n'
        f'Content-Type: application/xml; charset="UTF-8"\r\n\r\n'.encode()
        + isapi_xml(fields)
        + b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="detectionPicture"; '
        f'filename="detectionPicture.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + picture
        + b"\r\n",
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def webhook_body(
    event_id: str, alarm_type: str, active: bool, at: datetime, value: float | None = None
) -> bytes:
    body: dict[str, Any] = {
        "event_id": event_id,
        "type": alarm_type,
        "state": "active" if active else "inactive",
        "occurred_at": at.astimezone(UTC).isoformat(),
    }
    if value is not None:
        body["value"] = value
    return orjson.dumps(body)


def webhook_headers(device: SimDevice, body: bytes, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    signature = hmac.new(device.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Linli-Device": device.serial,
        "X-Linli-Timestamp": stamp,
        "X-Linli-Signature": signature,
    }


def mqtt_topic(device: SimDevice, kind: str = "reading") -> str:
    return f"linli/{device.community_id}/{device.serial}/{kind}"


def mqtt_reading(value: float, unit: str, at: datetime) -> bytes:
    return orjson.dumps({"value": value, "unit": unit, "ts": at.astimezone(UTC).isoformat()})


# --------------------------------------------------------------------------- the run


@dataclass
class SimReport:
    sent: Counter[str] = field(default_factory=Counter)  # by door/format
    answers: Counter[str] = field(default_factory=Counter)  # HTTP status or body status
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    late: int = 0  # events sent after their slot (the sender could not keep the rate)

    def summary(self) -> dict[str, Any]:
        ms = sorted(self.latencies_ms)

        def pct(q: float) -> float:
            return round(ms[min(len(ms) - 1, int(q * len(ms)))], 2) if ms else 0.0

        return {
            "sent": dict(self.sent),
            "answers": dict(self.answers),
            "errors": dict(self.errors),
            "late": self.late,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
        }


@dataclass
class CameraEvent:
    device: SimDevice
    event_type: str
    active: bool
    post_count: int
    fmt: str  # xml / json / multipart


def camera_request(
    event: CameraEvent, at: datetime, auth: str = "token"
) -> tuple[str, dict[str, str], bytes]:
    """(query string, headers, body) of one ISAPI post."""
    fields = isapi_fields(event.device, event.event_type, event.active, at, event.post_count)
    if event.fmt == "multipart":
        body, content_type = isapi_multipart(fields, detection_jpeg(), boundary=uuid.uuid4().hex)
    elif event.fmt == "json":
        body, content_type = isapi_json(fields), "application/json"
    else:
        body, content_type = isapi_xml(fields), "application/xml; charset=UTF-8"
    query = f"device={event.device.serial}"
    if auth == "token":
        query += f"&token={event.device.secret}"
    return query, {"Content-Type": content_type}, body


def camera_events(
    cameras: Sequence[SimDevice], rng: random.Random, repeat_share: float = 0.5
) -> Iterator[CameraEvent]:
    """An endless mix: each camera cycles through event types; `repeat_share` of the events repeat
    the camera's current event (activePostCount + 1), the others start the camera's next type."""
    current: dict[str, tuple[str, int]] = {}
    formats = ("xml", "json", "xml", "multipart")
    while True:
        device = rng.choice(cameras)
        known = current.get(device.serial)
        if known is not None and rng.random() < repeat_share:
            event_type, count = known[0], known[1] + 1
        else:
            event_type = rng.choice(CAMERA_EVENTS[:8])
            count = 1
        current[device.serial] = (event_type, count)
        yield CameraEvent(device, event_type, True, count, formats[rng.randrange(len(formats))])


async def send_camera(
    client: Any, base_url: str, event: CameraEvent, report: SimReport, auth: str = "token"
) -> tuple[int, dict[str, Any] | None]:
    query, headers, body = camera_request(event, datetime.now(UTC), auth)
    kwargs: dict[str, Any] = {}
    if auth == "digest":
        import httpx

        kwargs["auth"] = httpx.DigestAuth(event.device.serial, event.device.secret)
    started = time.perf_counter()
    try:
        response = await client.post(
            f"{base_url}/v1/alarm-ingest/isapi?{query}", content=body, headers=headers, **kwargs
        )
    except Exception as exc:
        report.errors[type(exc).__name__] += 1
        return 0, None
    report.latencies_ms.append((time.perf_counter() - started) * 1000)
    report.sent[f"isapi-{event.fmt}"] += 1
    answer: dict[str, Any] | None = None
    if response.status_code == 200:
        answer = response.json()
        report.answers[str(answer.get("status"))] += 1
    else:
        report.answers[f"http {response.status_code}"] += 1
    return response.status_code, answer


async def send_webhook(
    client: Any, base_url: str, device: SimDevice, alarm_type: str, active: bool, report: SimReport
) -> int:
    body = webhook_body(uuid.uuid4().hex, alarm_type, active, datetime.now(UTC))
    started = time.perf_counter()
    try:
        response = await client.post(
            f"{base_url}/v1/alarm-ingest/webhook", content=body, headers=webhook_headers(device, body)
        )
    except Exception as exc:
        report.errors[type(exc).__name__] += 1
        return 0
    report.latencies_ms.append((time.perf_counter() - started) * 1000)
    report.sent["webhook"] += 1
    report.answers[
        str(response.json().get("status")) if response.status_code == 200 else f"http {response.status_code}"
    ] += 1
    return int(response.status_code)


async def run_simulation(
    devices: Sequence[SimDevice],
    base_url: str,
    rate: float,
    duration: float,
    *,
    mqtt_host: str | None = None,
    mqtt_port: int = 1883,
    auth: str = "token",
    seed: int = 2026,
    concurrency: int = 64,
) -> SimReport:
    """Open loop at `rate` events per second for `duration` seconds: cameras post ISAPI events
    (mixed formats, new and repeated), sensors with a secret send a webhook now and then, and
    sensors publish MQTT readings (over the threshold one time in ten, else normal) when a broker
    is given. Requests in flight are capped at `concurrency` (what one sender machine would open)."""
    import httpx

    rng = random.Random(seed)
    cameras = [d for d in devices if d.kind in ("camera", "nvr")]
    sensors = [d for d in devices if d.kind == "sensor"]
    report = SimReport()
    events = camera_events(cameras, rng) if cameras else None
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    publisher = None
    if mqtt_host and sensors:
        import aiomqtt

        publisher = aiomqtt.Client(mqtt_host, mqtt_port, identifier=f"linli-sim-{uuid.uuid4().hex[:8]}")
        await publisher.__aenter__()
    tasks: set[asyncio.Task[Any]] = set()

    async def one(i: int, client: httpx.AsyncClient) -> None:
        async with gate:
            if sensors and (events is None or i % 10 == 9):
                device = sensors[i % len(sensors)]
                normal, alarm, unit = SENSOR_READINGS.get(device.sensor_kind or "gas", (0.0, 1.0, ""))
                value = alarm if rng.random() < 0.1 else normal
                if publisher is not None:
                    await publisher.publish(
                        mqtt_topic(device), mqtt_reading(value, unit, datetime.now(UTC)), qos=1
                    )
                    report.sent["mqtt"] += 1
                    return
                await send_webhook(client, base_url, device, "gas_leak", value >= alarm, report)
                return
            assert events is not None
            await send_camera(client, base_url, next(events), report, auth)

    try:
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            started = time.perf_counter()
            total = int(rate * duration)
            for i in range(total):
                slot = started + i / rate
                delay = slot - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.05:
                    report.late += 1
                task = asyncio.create_task(one(i, client))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
    finally:
        if publisher is not None:
            await publisher.__aexit__(None, None, None)
    return report


async def load_devices(session: Any, community_id: int, settings: Any = None) -> list[SimDevice]:
    """A community's live devices with their plain secrets (decrypted with this deployment's key; the
    demo's published ones when that fails), for `linli simulate-devices`."""
    from sqlmodel import col, select

    from services.alarms.secrets import decrypt_secret
    from services.demo_alarms import device_secret
    from services.models.alarms import AlarmDevice, DeviceStatus

    rows = (
        await session.exec(
            select(AlarmDevice)
            .where(
                AlarmDevice.community_id == community_id,
                col(AlarmDevice.deleted_at).is_(None),
                AlarmDevice.status != DeviceStatus.disabled,
            )
            .order_by(col(AlarmDevice.id))
        )
    ).all()
    return [
        SimDevice(
            community_id=community_id,
            serial=row.serial,
            secret=decrypt_secret(row, settings) or device_secret(row.serial),
            kind=row.kind,
            sensor_kind=row.sensor_kind,
            mac=row.mac,
            channel=row.channel or 1,
            name=row.name,
        )
        for row in rows
    ]
