from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from services.schemas import Line, RequestBody, ResponseBody


class HouseholdRef(ResponseBody):
    id: int
    community_id: int
    community_name: str
    building_id: int
    building_name: str
    entrance: str
    room: str
    area_m2: Decimal
    relation: str | None


class MembershipOut(ResponseBody):
    id: int
    role: str
    status: str
    community_id: int | None
    community_name: str | None = None
    company_id: int | None
    company_name: str | None = None
    household_id: int | None
    relation: str | None
    verified_at: datetime | None
    created_at: datetime


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
