from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from services.i18n import Labelled
from services.models.notifications import Channel, NotificationCategory
from services.schemas import Line, LocalTime, RequestBody, ResponseBody, Text


class NotificationOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"category": "notification.category"}

    id: int
    category: NotificationCategory
    critical: bool
    title: str
    body: str
    data: dict[str, Any]
    community_id: int | None
    created_at: datetime
    read_at: datetime | None
    category_label: str | None = None


class UnreadCount(ResponseBody):
    unread: int
    # True when the count stopped at the cap (show "99+").
    capped: bool


class ReadAllResult(ResponseBody):
    marked: int


PROVIDERS = ("fcm", "jpush", "apns")


class DeviceIn(RequestBody):
    """The token's shape is checked per provider in services.notifications.devices (stable codes)."""

    token: Text = Field(
        min_length=1,
        max_length=512,
        description="The provider's token: FCM registration token, JPush registration id, or the "
        "APNs device token (64 hex digits)",
    )
    platform: Literal["android", "ios", "harmonyos"]
    # A plain string in the model so that an unknown provider answers `device.unknown_provider`;
    # the schema still lists the accepted values.
    provider: Line = Field(
        default="fcm", min_length=1, max_length=20, json_schema_extra={"enum": list(PROVIDERS)}
    )
    app_version: Text | None = Field(default=None, max_length=40)


class DeviceOut(ResponseBody):
    id: int
    platform: str
    provider: str
    app_version: str | None
    created_at: datetime
    last_seen_at: datetime


class PreferenceItem(RequestBody):
    category: NotificationCategory
    channel: Channel
    enabled: bool


class QuietHoursIn(RequestBody):
    starts: LocalTime
    ends: LocalTime
    time_zone: Line = Field(default="Asia/Shanghai", max_length=64)


class PreferencesIn(RequestBody):
    preferences: list[PreferenceItem] = Field(default_factory=list, max_length=100)
    quiet_hours: QuietHoursIn | None = None


class PreferencesOut(ResponseBody):
    preferences: list[PreferenceItem]
    quiet_hours: QuietHoursIn | None
    critical_categories: list[str]
