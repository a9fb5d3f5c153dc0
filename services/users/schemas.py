from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from services.i18n import Labelled
from services.models import MembershipStatus, Role
from services.schemas import Line, RequestBody, ResponseBody, Text


class HouseholdRef(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"relation": "relation"}

    id: int
    community_id: int
    community_name: str
    building_id: int
    building_name: str
    entrance: str
    room: str
    area_m2: Decimal
    relation: str | None
    relation_label: str | None = None


class MembershipOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"role": "role", "status": "membership.status", "relation": "relation"}

    id: int
    role: Role
    status: MembershipStatus
    community_id: int | None
    community_name: str | None = None
    company_id: int | None
    company_name: str | None = None
    household_id: int | None
    relation: str | None
    verified_at: datetime | None
    created_at: datetime
    role_label: str | None = None
    status_label: str | None = None
    relation_label: str | None = None


class MeOut(ResponseBody):
    id: int
    phone: str
    name: str
    locale: str
    is_platform_admin: bool
    verified: bool
    households: list[HouseholdRef]
    roles: dict[str, list[str]] = Field(description="Verified roles per community id")


class MeUpdate(RequestBody):
    name: Line | None = Field(default=None, min_length=1, max_length=50)
    locale: Literal["zh-CN", "en"] | None = None


class DeletionIn(RequestBody):
    """Re-authentication for DELETE /v1/me: exactly one of an SMS code (POST /v1/auth/otp first) or the
    password (staff)."""

    code: Text | None = Field(default=None, pattern=r"^\d{6}$")
    password: Text | None = Field(default=None, min_length=1, max_length=200)


class DeletionOut(ResponseBody):
    deletion_requested_at: datetime
    deletion_due_at: datetime = Field(description="Erased after this; logging in before it cancels")
    cooling_off_days: int
    message: str
