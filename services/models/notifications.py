"""Notifications: devices, the in-app inbox, per-channel deliveries (the outbox) and preferences."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class Channel(StrEnum):
    push = "push"
    sms = "sms"


class NotificationCategory(StrEnum):
    """What a notification is about; services/notifications/catalog.py says which are critical."""

    account = "account"
    ticket = "ticket"
    notice = "notice"
    poll = "poll"
    duty = "duty"
    kpi = "kpi"
    alarm = "alarm"  # non-critical alarms (critical ones go out as "safety")
    emergency = "emergency"
    safety = "safety"


class PushProvider(StrEnum):
    """Who carries a device's pushes: FCM (Google, abroad), JPush (mainland Android incl. the vendor
    channels, HarmonyOS, iOS) or APNs directly (iOS)."""

    fcm = "fcm"
    jpush = "jpush"
    apns = "apns"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"  # will be retried at next_attempt_at
    dead = "dead"  # gave up; listable and re-drivable by admins
    skipped = "skipped"  # nothing to send (e.g. the device was dropped meanwhile)


class Device(SQLModel, table=True):
    __tablename__ = "device"
    # A token is unique within its provider (an FCM and a JPush id never collide in meaning).
    __table_args__ = (sa.UniqueConstraint("provider", "token"),)
    id: int | None = id_field()
    user_id: int = fk_field("user_account.id")
    token: str = Field(max_length=512)
    platform: str = Field(max_length=10)
    provider: str = Field(default=PushProvider.fcm, max_length=10)
    # The login session (refresh-token family) it was registered from: logout disables it.
    session_id: str | None = Field(default=None, max_length=32, index=True)
    app_version: str | None = Field(default=None, max_length=40)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    disabled_at: datetime | None = at_field()
    disabled_reason: str | None = Field(default=None, max_length=60)


class Notification(SQLModel, table=True):
    """One inbox item for one recipient."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "dedupe_key"),
        sa.Index("ix_notification_user_id_id", "user_id", "id"),
        # SMS-only recipients (an occupant without an account): one row per number and event.
        sa.UniqueConstraint("phone", "dedupe_key"),
    )
    id: int | None = id_field()
    # None: an SMS-only recipient (`phone`); such rows are in nobody's inbox.
    user_id: int | None = fk_field("user_account.id", nullable=True, index=False)
    phone: str | None = Field(default=None, max_length=20)
    community_id: int | None = fk_field("community.id", nullable=True)
    category: str = Field(max_length=40)
    critical: bool = False
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    dedupe_key: str = Field(max_length=200)
    created_at: datetime = created_at_field()
    read_at: datetime | None = at_field()


class Delivery(SQLModel, table=True):
    """One attempt target: a notification on one channel and device. The unique dedupe key makes a
    repeated event a no-op; claims and retries live here, not in the broker."""

    __tablename__ = "delivery"
    __table_args__ = (sa.Index("ix_delivery_due", "status", "next_attempt_at"),)
    id: int | None = id_field()
    notification_id: int = fk_field("notification.id")
    user_id: int | None = fk_field("user_account.id", nullable=True)
    channel: str = Field(max_length=10)
    device_id: int | None = fk_field("device.id", nullable=True, ondelete="SET NULL")
    # The push provider of the device (None for SMS): each provider is drained in its own lane.
    provider: str | None = Field(default=None, max_length=10)
    status: str = Field(default=DeliveryStatus.pending, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = created_at_field()
    locked_until: datetime | None = at_field()
    sent_at: datetime | None = at_field()
    last_error: str | None = Field(default=None, max_length=500)
    provider_message_id: str | None = Field(default=None, max_length=200)
    dedupe_key: str = Field(max_length=250, unique=True)
    created_at: datetime = created_at_field()


class NotificationPreference(SQLModel, table=True):
    """An opt-out of one category on one channel (absent row = enabled)."""

    __tablename__ = "notification_preference"
    user_id: int = Field(
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        foreign_key="user_account.id",
        primary_key=True,
    )
    category: str = Field(max_length=40, primary_key=True)
    channel: str = Field(max_length=10, primary_key=True)
    enabled: bool = True


class QuietHours(SQLModel, table=True):
    """Non-critical pushes wait until the window ends, in the user's time zone."""

    __tablename__ = "quiet_hours"
    user_id: int = Field(
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        foreign_key="user_account.id",
        primary_key=True,
    )
    starts: time
    ends: time
    time_zone: str = Field(default="Asia/Shanghai", max_length=64)


class NotificationFanout(SQLModel, table=True):
    """A large notify() done in chunks by the scheduler: each chunk is its own transaction and
    advances `next_index` in it, so a crash resumes where it stopped and repeats nothing."""

    __tablename__ = "notification_fanout"
    id: int | None = id_field()
    community_id: int | None = fk_field("community.id", nullable=True)
    category: str = Field(max_length=40)
    template: str = Field(max_length=80)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    dedupe_key: str = Field(max_length=200, unique=True)
    recipients: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    next_index: int = 0
    created_at: datetime = created_at_field()
    done_at: datetime | None = at_field(index=True)
