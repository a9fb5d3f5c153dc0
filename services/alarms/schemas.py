"""Request and response bodies of the alarms area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field
from typing_extensions import TypeAliasType

from services.attachments.schemas import AttachmentOut
from services.i18n import Labelled
from services.models.alarms import (
    AlarmEventKind,
    AlarmSeverity,
    AlarmStatus,
    AlarmType,
    ClearReason,
    DeviceKind,
    DeviceStatus,
    SensorKind,
)
from services.schemas import Id, Instant, Line, RequestBody, ResponseBody, Text
from services.tickets.schemas import RepairCategory, TicketPriority

Source = Annotated[Line, Field(min_length=1, max_length=50)]


class DeviceFields(RequestBody):
    name: Line = Field(min_length=1, max_length=100)
    vendor: Line = Field(default="", max_length=50)
    model: Line = Field(default="", max_length=80)
    building_id: Id | None = None
    area: Line = Field(default="", max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    duty_post_id: Id | None = None
    channel: int | None = Field(default=None, ge=0, le=10_000)
    heartbeat_interval_seconds: int | None = Field(default=None, ge=10, le=86_400)
    threshold: float | None = None
    clear_threshold: float | None = None
    unit: Line | None = Field(default=None, max_length=20)
    allowed_sources: list[Source] = Field(default_factory=list, max_length=20)


class DeviceCreate(DeviceFields):
    kind: DeviceKind
    sensor_kind: SensorKind | None = None
    serial: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    mac: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")


class DeviceUpdate(RequestBody):
    name: Line | None = Field(default=None, min_length=1, max_length=100)
    building_id: Id | None = None
    area: Line | None = Field(default=None, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    duty_post_id: Id | None = None
    status: Literal["online", "disabled"] | None = None  # offline is the sweep's to set
    heartbeat_interval_seconds: int | None = Field(default=None, ge=10, le=86_400)
    threshold: float | None = None
    clear_threshold: float | None = None
    allowed_sources: list[Source] | None = Field(default=None, max_length=20)


class DeviceOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"kind": "alarm.device_kind", "status": "alarm.device_status"}
    id: int
    community_id: int
    kind: DeviceKind
    sensor_kind: SensorKind | None
    vendor: str
    model: str
    serial: str
    mac: str | None
    channel: int | None
    name: str
    building_id: int | None
    area: str
    lat: float | None
    lng: float | None
    duty_post_id: int | None
    status: DeviceStatus
    heartbeat_interval_seconds: int | None
    threshold: float | None
    clear_threshold: float | None
    unit: str | None
    allowed_sources: list[str]
    last_event_at: datetime | None
    last_heartbeat_at: datetime | None
    secret_rotated_at: datetime | None
    created_at: datetime
    kind_label: str | None = None
    status_label: str | None = None


class DeviceWithSecret(DeviceOut):
    """Only the create and rotate answers carry the secret: it is never shown again."""

    secret: str


IngestStatus = TypeAliasType("IngestStatus", Literal["created", "repeated", "cleared", "stored", "replayed"])


class IngestOut(ResponseBody):
    status: IngestStatus
    alarm_id: int | None = None


class WebhookEvent(RequestBody):
    event_id: Line = Field(min_length=1, max_length=100)
    type: AlarmType
    state: Literal["active", "inactive"]
    occurred_at: Instant
    severity: AlarmSeverity | None = None
    value: float | None = None
    message: Line | None = Field(default=None, max_length=200)


class AlarmOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {
        "type": "alarm.type",
        "severity": "alarm.severity",
        "status": "alarm.status",
        "clear_reason": "alarm.clear_reason",
    }
    id: int
    community_id: int
    device_id: int | None
    device_name: str | None = None
    building_id: int | None
    type: AlarmType
    severity: AlarmSeverity
    status: AlarmStatus
    title: str
    source: str
    count: int
    value: float | None
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    cleared_at: datetime | None
    cleared_by: int | None
    clear_reason: ClearReason | None
    closed_at: datetime | None
    ticket_id: int | None
    escalation_stage: int
    type_label: str | None = None
    severity_label: str | None = None
    status_label: str | None = None
    clear_reason_label: str | None = None


class AlarmEventOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"kind": "alarm.event"}
    id: int
    kind: AlarmEventKind
    actor_id: int | None
    note: str | None
    data: dict[str, Any]
    at: datetime
    kind_label: str | None = None


class AlarmDetail(AlarmOut):
    raw_event: dict[str, Any]
    history: list[AlarmEventOut]
    pictures: list[AttachmentOut]


class AlarmBadge(ResponseBody):
    active_unacknowledged: int
    active_acknowledged: int
    critical_unacknowledged: int


class NoteIn(RequestBody):
    note: Text | None = Field(default=None, max_length=1000)


class ClearIn(RequestBody):
    reason: Literal[ClearReason.resolved, ClearReason.false_alarm] = ClearReason.resolved
    note: Text | None = Field(default=None, max_length=1000)


class CommentIn(RequestBody):
    note: Text = Field(min_length=1, max_length=1000)


class AlarmTicketIn(RequestBody):
    """Optional overrides of the ticket an alarm turns into (default: from the alarm's type)."""

    category: RepairCategory | None = None
    priority: TicketPriority | None = None
    title: Text | None = Field(default=None, min_length=1, max_length=100)
    description: Text | None = Field(default=None, max_length=2000)
