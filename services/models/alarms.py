"""Smart-community alarms (issue 15): devices (camera channels, NVRs, IoT sensors), their alarms with a
full history, picture links, routing rules, escalation stages and webhook replay receipts.

One active alarm per device × type: a partial unique index over the two active statuses, so a burst
of repeats from a camera can never create a second row (the loser of a race gets IntegrityError and
counts a repeat instead).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, fk_field, id_field


class DeviceKind(StrEnum):
    camera = "camera"  # one camera channel (an NVR channel or an IP camera)
    nvr = "nvr"  # the recorder / alarm host itself (videoloss, disk alarms)
    sensor = "sensor"


class SensorKind(StrEnum):
    gas = "gas"
    smoke = "smoke"
    water_leak = "water_leak"
    door_contact = "door_contact"


class DeviceStatus(StrEnum):
    online = "online"
    offline = "offline"
    disabled = "disabled"


class AlarmType(StrEnum):
    intrusion = "intrusion"
    smoke = "smoke"
    fire = "fire"
    illegal_parking = "illegal_parking"
    off_post = "off_post"
    asleep_on_post = "asleep_on_post"
    tampering = "tampering"
    video_loss = "video_loss"
    motion = "motion"
    gas_leak = "gas_leak"
    smoke_detector = "smoke_detector"
    water_leak = "water_leak"
    door_open = "door_open"
    device_offline = "device_offline"
    other = "other"


class AlarmSeverity(StrEnum):
    critical = "critical"
    major = "major"
    minor = "minor"
    warning = "warning"


class AlarmStatus(StrEnum):
    active_unacknowledged = "active_unacknowledged"
    active_acknowledged = "active_acknowledged"
    cleared = "cleared"
    closed = "closed"


ACTIVE_STATUSES = (AlarmStatus.active_unacknowledged, AlarmStatus.active_acknowledged)


class ClearReason(StrEnum):
    device = "device"  # the device reported the condition gone (eventState inactive, reading back)
    resolved = "resolved"  # a person dealt with it
    false_alarm = "false_alarm"  # a person judged it a false alarm (KPI: false-alarm rate)
    ticket_closed = "ticket_closed"  # the linked ticket was closed


class AlarmEventKind(StrEnum):
    raised = "raised"
    repeated = "repeated"
    acknowledged = "acknowledged"
    cleared = "cleared"
    closed = "closed"
    commented = "commented"
    escalated = "escalated"
    notified = "notified"
    ticketed = "ticketed"


class AlarmDevice(SQLModel, table=True):
    __tablename__ = "alarm_device"
    __table_args__ = (
        # A serial (or MAC) names one device among the live ones; the ingest doors look it up by it.
        sa.Index(
            "uq_alarm_device_serial_live",
            "serial",
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_alarm_device_community_id_id", "community_id", "id"),
        sa.Index("ix_alarm_device_mac", "mac"),
    )
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    kind: str = Field(max_length=10)  # DeviceKind
    sensor_kind: str | None = Field(default=None, max_length=20)  # SensorKind, sensors only
    vendor: str = Field(default="", max_length=50)
    model: str = Field(default="", max_length=80)
    serial: str = Field(max_length=64)
    mac: str | None = Field(default=None, max_length=17)  # normalised aa:bb:cc:dd:ee:ff
    channel: int | None = None  # camera channel on an NVR (ISAPI channelID)
    name: str = Field(max_length=100)
    building_id: int | None = fk_field("building.id", nullable=True)
    area: str = Field(default="", max_length=200)  # 东门岗亭, 地下车库B1 消防通道
    # GCJ-02 (the coordinates Chinese map SDKs use), as the installer read them off the map.
    lat: float | None = None
    lng: float | None = None
    duty_post_id: int | None = fk_field("duty_post.id", nullable=True)
    status: str = Field(default=DeviceStatus.online, max_length=10)  # DeviceStatus
    # None: the device sends no heartbeat, no offline sweep.
    heartbeat_interval_seconds: int | None = None
    # Sensors: a reading ≥ threshold raises; below clear_threshold (None: threshold) clears.
    threshold: float | None = None
    clear_threshold: float | None = None
    unit: str | None = Field(default=None, max_length=20)
    # Fernet ciphertext of the device secret: the server must recompute HMACs and Digest responses,
    # so a one-way hash is not enough; the key comes from settings, never from the database.
    secret_encrypted: str = Field(max_length=500)
    secret_rotated_at: datetime | None = at_field()
    # Source addresses or CIDR networks a door accepts this device from; empty: any.
    allowed_sources: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    last_event_at: datetime | None = at_field()
    last_heartbeat_at: datetime | None = at_field()
    created_by: int | None = fk_field("user_account.id", nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    deleted_at: datetime | None = at_field()


class Alarm(SQLModel, table=True):
    __tablename__ = "alarm"
    __table_args__ = (
        sa.Index(
            "uq_alarm_device_type_active",
            "device_id",
            "type",
            unique=True,
            sqlite_where=sa.text("status IN ('active_unacknowledged', 'active_acknowledged')"),
            postgresql_where=sa.text("status IN ('active_unacknowledged', 'active_acknowledged')"),
        ),
        sa.Index("ix_alarm_community_status_id", "community_id", "status", "id"),
        sa.Index("ix_alarm_community_id_id", "community_id", "id"),
        sa.Index("ix_alarm_device_id_id", "device_id", "id"),
        # One alarm per ticket; the ticket finds its alarm through it (source_alarm_id, close hook).
        sa.Index("uq_alarm_ticket_id", "ticket_id", unique=True),
    )
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    device_id: int | None = fk_field("alarm_device.id", nullable=True, index=False)
    building_id: int | None = fk_field("building.id", nullable=True)
    type: str = Field(max_length=20)  # AlarmType
    severity: str = Field(max_length=10)  # AlarmSeverity
    status: str = Field(default=AlarmStatus.active_unacknowledged, max_length=25)
    title: str = Field(max_length=200)
    source: str = Field(default="system", max_length=10)  # isapi / webhook / mqtt / system
    count: int = 1
    value: float | None = None  # the last sensor reading that raised or repeated it
    first_seen_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    acknowledged_at: datetime | None = at_field()
    acknowledged_by: int | None = fk_field("user_account.id", nullable=True)
    cleared_at: datetime | None = at_field()
    cleared_by: int | None = fk_field("user_account.id", nullable=True)
    clear_reason: str | None = Field(default=None, max_length=20)  # ClearReason
    closed_at: datetime | None = at_field()
    closed_by: int | None = fk_field("user_account.id", nullable=True)
    ticket_id: int | None = fk_field("ticket.id", nullable=True, index=False)
    escalation_stage: int = 0
    # The event exactly as the device sent it (the first one), for audits and vendor disputes.
    raw_event: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class AlarmEvent(SQLModel, table=True):
    """Every change of an alarm: raised, repeated, acknowledged, cleared, commented, escalated..."""

    __tablename__ = "alarm_event"
    __table_args__ = (sa.Index("ix_alarm_event_alarm_id_id", "alarm_id", "id"),)
    id: int | None = id_field()
    alarm_id: int = fk_field("alarm.id", index=False)
    community_id: int = fk_field("community.id")
    kind: str = Field(max_length=20)  # AlarmEventKind
    actor_id: int | None = fk_field("user_account.id", nullable=True)  # None: device/system
    note: str | None = Field(default=None, max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    at: datetime = created_at_field()


class AlarmPicture(SQLModel, table=True):
    """A detection picture of an alarm: a row of the shared attachment table (owner_type "alarm")."""

    __tablename__ = "alarm_picture"
    __table_args__ = (sa.Index("ix_alarm_picture_alarm_id_id", "alarm_id", "id"),)
    id: int | None = id_field()
    alarm_id: int = fk_field("alarm.id", index=False)
    attachment_id: int = Field(sa_type=BigIntId, foreign_key="attachment.id", unique=True)
    created_at: datetime = created_at_field()


class AlarmRouteRule(SQLModel, table=True):
    """Who hears of an alarm of a type × severity in a community (helper 15b reads and seeds these)."""

    __tablename__ = "alarm_route_rule"
    __table_args__ = (sa.Index("ix_alarm_route_rule_community_type", "community_id", "type"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    type: str = Field(max_length=20)  # AlarmType
    severity: str | None = Field(default=None, max_length=10)  # None: any severity
    recipient_roles: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    include_on_duty: bool = False
    channels: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    auto_ticket: bool = False
    emergency_notice: bool = False
    # [{"after_minutes": 5, "roles": [...], "channels": [...]}, ...]
    escalation_stages: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    enabled: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class AlarmEscalation(SQLModel, table=True):
    """One escalation stage of one alarm: due at a time, sent once (the unique pair guards it)."""

    __tablename__ = "alarm_escalation"
    __table_args__ = (
        sa.UniqueConstraint("alarm_id", "stage"),
        sa.Index("ix_alarm_escalation_due_at", "sent_at", "due_at"),
    )
    id: int | None = id_field()
    alarm_id: int = fk_field("alarm.id", index=False)
    stage: int
    due_at: datetime = at_field(nullable=False)
    sent_at: datetime | None = at_field()
    cancelled_at: datetime | None = at_field()


class AlarmWebhookReceipt(SQLModel, table=True):
    """An event id a device already delivered: the same id again is a replay, answered but not applied."""

    __tablename__ = "alarm_webhook_receipt"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "event_id"),
        sa.Index("ix_alarm_webhook_receipt_received_at", "received_at"),
    )
    id: int | None = id_field()
    device_id: int = fk_field("alarm_device.id", index=False)
    event_id: str = Field(max_length=100)
    alarm_id: int | None = fk_field("alarm.id", nullable=True)
    received_at: datetime = created_at_field()
