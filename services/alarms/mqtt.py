"""The MQTT door's rules: what one message on `linli/<community id>/<serial>/reading|heartbeat` does.

The process that subscribes (workers/alarms_mqtt.py) hands each message here inside one transaction.
A reading at or over the device's threshold raises its alarm through `record_signal` (a repeat counts),
one under the clear threshold clears it (between the two nothing changes: hysteresis, so a reading
hovering at the threshold does not raise and clear every few seconds). Every message from a device is
also a sign of life (services/alarms/presence.py). The topic names the community: a serial that is not
a live device of that community is ignored and counted, so a sensor of community A can never raise an
alarm in B by publishing under B's prefix.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from prometheus_client import Counter
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms import presence
from services.alarms.lifecycle import record_signal
from services.alarms.signals import AlarmSignal, OutcomeStatus, SignalSource
from services.models.alarms import AlarmDevice, AlarmType, DeviceKind, DeviceStatus, SensorKind

log = logging.getLogger("linli.alarms.mqtt")

MQTT_MESSAGES = Counter(
    "linli_alarm_mqtt_messages_total", "MQTT messages handled by the alarms door, by outcome", ["outcome"]
)

MAX_PAYLOAD_BYTES = 16 * 1024
# A clock this far ahead on the sensor is not believed: the reading is taken as received now.
MAX_FUTURE = timedelta(minutes=5)

# What a sensor's reading means as an alarm, by sensor kind.
ALARM_TYPE_BY_SENSOR: dict[str, AlarmType] = {
    SensorKind.gas: AlarmType.gas_leak,
    SensorKind.smoke: AlarmType.smoke_detector,
    SensorKind.water_leak: AlarmType.water_leak,
    SensorKind.door_contact: AlarmType.door_open,
}
# When a device has no threshold of its own. Gas: 20 %LEL, the low alarm level household and
# commercial detectors ship with (GB 15322 allows at most 25 %LEL); the others report 0/1.
DEFAULT_THRESHOLD: dict[str, float] = {
    SensorKind.gas: 20.0,
    SensorKind.smoke: 1.0,
    SensorKind.water_leak: 1.0,
    SensorKind.door_contact: 1.0,
}


class Outcome(StrEnum):
    raised = "raised"
    repeated = "repeated"
    cleared = "cleared"
    normal = "normal"  # a reading under the threshold with nothing to clear, or in the hysteresis band
    heartbeat = "heartbeat"
    bad_topic = "bad_topic"
    unknown_device = "unknown_device"  # no live device with that serial in that community
    disabled = "disabled"
    malformed = "malformed"


OUTCOMES = {
    OutcomeStatus.created: Outcome.raised,
    OutcomeStatus.repeated: Outcome.repeated,
    OutcomeStatus.cleared: Outcome.cleared,
}


@dataclass(frozen=True)
class Topic:
    community_id: int
    serial: str
    kind: str  # "reading" | "heartbeat"


@dataclass(frozen=True)
class Reading:
    value: float
    unit: str | None
    at: datetime


def parse_topic(topic: str) -> Topic | None:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "linli" or parts[3] not in ("reading", "heartbeat"):
        return None
    if not parts[1].isdigit() or not parts[2] or len(parts[2]) > 64:
        return None
    return Topic(community_id=int(parts[1]), serial=parts[2], kind=parts[3])


def parse_reading(payload: bytes, now: datetime) -> Reading | None:
    """`{"value": 23.5, "unit": "%LEL", "ts": "2026-12-03T08:00:00+08:00" | 1796284800}`; None when
    it is not that (ts is optional: the time it was received)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    unit = body.get("unit")
    at = parse_ts(body.get("ts"), now)
    if at is None:
        return None
    return Reading(value=float(value), unit=unit if isinstance(unit, str) else None, at=at)


def parse_ts(raw: Any, now: datetime) -> datetime | None:
    if raw is None:
        return now
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            at = datetime.fromtimestamp(float(raw), UTC)
        elif isinstance(raw, str):
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if at.tzinfo is None:
                return None  # a time without its zone is a guess; refuse it
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return now if at > now + MAX_FUTURE else at.astimezone(UTC)


def thresholds(device: AlarmDevice) -> tuple[float, float] | None:
    """(raise at or over, clear under) for a sensor; None for a device that has no readings."""
    raise_at = device.threshold
    if raise_at is None:
        raise_at = DEFAULT_THRESHOLD.get(device.sensor_kind or "")
    if raise_at is None:
        return None
    clear_under = device.clear_threshold if device.clear_threshold is not None else raise_at
    return raise_at, min(clear_under, raise_at)


async def find_device(session: AsyncSession, topic: Topic) -> AlarmDevice | None:
    return (
        await session.exec(
            select(AlarmDevice).where(
                AlarmDevice.serial == topic.serial,
                AlarmDevice.community_id == topic.community_id,
                col(AlarmDevice.deleted_at).is_(None),
            )
        )
    ).first()


async def handle_message(session: AsyncSession, topic: str, payload: bytes, now: datetime) -> Outcome:
    """Apply one message; the caller commits. Never raises for what a device sent (it is counted)."""
    outcome = await _handle(session, topic, payload, now)
    MQTT_MESSAGES.labels(outcome.value).inc()
    if outcome in (Outcome.bad_topic, Outcome.unknown_device, Outcome.malformed):
        log.warning("mqtt message ignored (%s) on topic %r", outcome.value, topic[:200])
    return outcome


async def _handle(session: AsyncSession, topic: str, payload: bytes, now: datetime) -> Outcome:
    parsed = parse_topic(topic)
    if parsed is None:
        return Outcome.bad_topic
    device = await find_device(session, parsed)
    if device is None:
        return Outcome.unknown_device
    if device.status == DeviceStatus.disabled:
        return Outcome.disabled
    if parsed.kind == "heartbeat":
        await presence.heard_from(session, device, now)
        return Outcome.heartbeat
    reading = parse_reading(payload, now)
    if reading is None:
        return Outcome.malformed
    await presence.heard_from(session, device, now)
    return await apply_reading(session, device, reading)


async def apply_reading(session: AsyncSession, device: AlarmDevice, reading: Reading) -> Outcome:
    alarm_type = ALARM_TYPE_BY_SENSOR.get(device.sensor_kind or "")
    limits = thresholds(device)
    if device.kind != DeviceKind.sensor or alarm_type is None or limits is None:
        return Outcome.malformed  # a camera or an unconfigured sensor publishing readings
    raise_at, clear_under = limits
    if reading.value >= raise_at:
        active = True
    elif reading.value < clear_under:
        active = False
    else:
        return Outcome.normal
    raw = {"value": reading.value, "unit": reading.unit or device.unit, "ts": reading.at.isoformat()}
    signal = AlarmSignal(
        type=alarm_type,
        active=active,
        occurred_at=reading.at,
        severity=None,
        source=SignalSource.mqtt,
        external_id=None,
        raw=raw,
        value=reading.value,
        pictures=[],
    )
    result = await record_signal(session, device, signal)
    return OUTCOMES.get(result.status, Outcome.normal)
