from __future__ import annotations

from datetime import datetime

from services.schemas import ResponseBody


class CommunityOut(ResponseBody):
    id: int
    name: str
    address: str
    district: str | None
    built_year: int | None
    renovated_year: int | None
    latitude: float | None
    longitude: float | None
    time_zone: str
    created_at: datetime


class BuildingOut(ResponseBody):
    id: int
    community_id: int
    name: str
    floors: int | None
