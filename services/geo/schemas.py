"""Request and response shapes of the map area."""

from __future__ import annotations

from typing import Any, Literal

from geojson_pydantic import Point, Polygon
from pydantic import Field, model_validator

from services.geo.crs import Crs
from services.schemas import RequestBody, ResponseBody
from services.validation_messages import register_value_errors

register_value_errors(
    {
        "give a location, a boundary or both": "请填写位置点、边界或两者",
        # geojson-pydantic's own check of a Polygon's rings.
        "All linear rings MUST have the same start and end coordinates": "多边形的每个环首尾坐标须相同（闭合）",
    }
)


class CommunityGeometryIn(RequestBody):
    crs: Crs = Field(default=Crs.wgs84, description="System of the coordinates sent: wgs84 | gcj02 | bd09")
    location: Point | None = Field(
        default=None, description="GeoJSON Point [lon, lat]; derived from the boundary when omitted"
    )
    boundary: Polygon | None = Field(
        default=None, description="GeoJSON Polygon: closed rings, no self-intersection"
    )

    @model_validator(mode="after")
    def _something(self) -> CommunityGeometryIn:
        if self.location is None and self.boundary is None:
            raise ValueError("give a location, a boundary or both")
        return self


class BuildingGeometryIn(RequestBody):
    crs: Crs = Field(default=Crs.wgs84, description="System of the coordinates sent: wgs84 | gcj02 | bd09")
    location: Point


class GeometryOut(ResponseBody):
    crs: Crs
    community_id: int
    building_id: int | None = None
    location: dict[str, Any] | None
    boundary: dict[str, Any] | None = None


class FeatureCollection(ResponseBody):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    crs: Crs
    features: list[dict[str, Any]]
    truncated: bool = Field(default=False, description="More communities matched than the cap")
