"""What every ingestion door hands to the lifecycle: one normalised signal from one device."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.models.alarms import AlarmSeverity, AlarmStatus, AlarmType

__all__ = [
    "AlarmSeverity",
    "AlarmSignal",
    "AlarmStatus",
    "AlarmType",
    "OutcomeStatus",
    "SignalOutcome",
    "SignalSource",
]


class SignalSource(StrEnum):
    isapi = "isapi"
    webhook = "webhook"
    mqtt = "mqtt"
    system = "system"  # the offline sweep and other server-side detections


@dataclass(slots=True)
class AlarmSignal:
    type: AlarmType
    active: bool  # False: the device says the condition is over (eventState inactive, reading back)
    occurred_at: datetime
    severity: AlarmSeverity | None = None  # None: the default severity of the type
    source: SignalSource = SignalSource.system
    external_id: str | None = None  # the device's own event id, when it sends one
    raw: dict[str, Any] = field(default_factory=dict)  # the event as received, kept on the alarm
    value: float | None = None  # a sensor reading
    pictures: list[bytes] = field(default_factory=list)  # detection pictures, checked like ticket photos
    title: str | None = None


class OutcomeStatus(StrEnum):
    created = "created"  # a new alarm row
    repeated = "repeated"  # the active alarm of this device × type counted one more
    cleared = "cleared"  # an inactive signal cleared the active alarm
    stored = "stored"  # accepted, nothing active to change (inactive with no alarm, disabled device)


@dataclass(slots=True)
class SignalOutcome:
    status: OutcomeStatus
    alarm_id: int | None = None
