"""GeoJSON geometry in, WGS-84 GeoJSON stored, any of the three systems out.

Structure (a Point's two numbers, a Polygon's closed rings of at least four positions) is checked by
geojson-pydantic in the request schema; here: coordinate ranges, China for GCJ-02 / BD-09, the
conversion, then shapely on the converted shape (no self-intersection, holes inside the shell).
Winding: RFC 7946 asks writers for the right-hand rule (exterior counter-clockwise, holes clockwise)
and readers not to reject the other; so a clockwise ring is accepted and stored re-oriented.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import mapping
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

import services.geo.messages  # noqa: F401  (registers this area's codes)
from services.errors import InvalidInput
from services.geo.crs import Crs, Position, from_wgs84, in_china, to_wgs84

DIGITS = 7  # ~1 cm: more is noise, and stable rounding keeps ETags stable
MAX_POSITIONS = 2000  # an estate's outline needs tens; this bounds the work and the stored row


def _check(pos: Position, crs: Crs, field: str) -> None:
    lon, lat = pos
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("geo.out_of_range", details={"field": field, "position": [lon, lat]})
    if crs != Crs.wgs84 and not in_china(lon, lat):
        raise InvalidInput("geo.outside_china", details={"field": field, "crs": crs, "position": [lon, lat]})


def _round(pos: Position) -> list[float]:
    return [round(pos[0], DIGITS), round(pos[1], DIGITS)]


def point_in(coordinates: Any, crs: Crs, field: str) -> dict[str, Any]:
    """A GeoJSON Point in `crs` → the stored WGS-84 Point."""
    pos = (float(coordinates[0]), float(coordinates[1]))
    _check(pos, crs, f"{field}.coordinates")
    return {"type": "Point", "coordinates": _round(to_wgs84(pos, crs))}


def polygon_in(rings: Any, crs: Crs, field: str) -> dict[str, Any]:
    """A GeoJSON Polygon's rings in `crs` → the stored WGS-84 Polygon, validated and right-hand wound."""
    if not rings:  # geojson-pydantic lets `"coordinates": []` through; a polygon needs its outer ring
        raise InvalidInput("geo.invalid_geometry", details={"field": field, "reason": "no outer ring"})
    if sum(len(ring) for ring in rings) > MAX_POSITIONS:
        raise InvalidInput("geo.invalid_geometry", details={"field": field, "max_positions": MAX_POSITIONS})
    converted: list[list[Position]] = []
    for i, ring in enumerate(rings):
        out = []
        for pos in ring:
            p = (float(pos[0]), float(pos[1]))
            _check(p, crs, f"{field}.coordinates[{i}]")
            out.append(to_wgs84(p, crs))
        out[-1] = out[0]  # closed in the input; keep it exactly closed after conversion
        converted.append(out)
    shape = ShapelyPolygon(converted[0], converted[1:])
    if not shape.is_valid:
        raise InvalidInput(
            "geo.invalid_geometry", details={"field": field, "reason": explain_validity(shape)}
        )
    shape = orient(shape, sign=1.0)
    return {
        "type": "Polygon",
        "coordinates": [[_round(p) for p in ring] for ring in mapping(shape)["coordinates"]],
    }


def geometry_out(geometry: dict[str, Any] | None, crs: Crs) -> dict[str, Any] | None:
    """A stored WGS-84 Point or Polygon in the system the client asked for."""
    if geometry is None or crs == Crs.wgs84:
        return geometry
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"]
        return {"type": "Point", "coordinates": _round(from_wgs84((lon, lat), crs))}
    return {
        "type": geometry["type"],
        "coordinates": [
            [_round(from_wgs84((p[0], p[1]), crs)) for p in ring] for ring in geometry["coordinates"]
        ],
    }


def centroid(polygon: dict[str, Any]) -> dict[str, Any]:
    """The point of a community that was given an outline only."""
    c = shapely.geometry.shape(polygon).representative_point()
    return {"type": "Point", "coordinates": _round((c.x, c.y))}
