"""Chinese coordinate systems: WGS-84 (GPS), GCJ-02 (AMap, Tencent) and BD-09 (Baidu).

Conversions are prcoords' (public domain, a port of Artoria2e5/PRCoords); the inverse ones
(GCJ-02 / BD-09 → WGS-84) use its iterative `*_bored` variants, exact to well under a centimetre,
not the one-step approximation that is off by up to a few metres.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import prcoords


class Crs(StrEnum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


Position = tuple[float, float]  # (lon, lat), GeoJSON order

_TO_WGS: dict[Crs, Callable[[prcoords.Coords], prcoords.Coords]] = {
    Crs.gcj02: lambda c: prcoords.gcj_wgs_bored(c, False),
    Crs.bd09: lambda c: prcoords.bd_wgs_bored(c, False),
}
_FROM_WGS: dict[Crs, Callable[[prcoords.Coords], prcoords.Coords]] = {
    Crs.gcj02: lambda c: prcoords.wgs_gcj(c, False),
    Crs.bd09: lambda c: prcoords.wgs_bd(c, False),
}


def in_china(lon: float, lat: float) -> bool:
    """prcoords' own rough box of China: where GCJ-02 / BD-09 are defined."""
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def to_wgs84(pos: Position, crs: Crs) -> Position:
    if crs == Crs.wgs84:
        return pos
    out = _TO_WGS[crs](prcoords.Coords(pos[1], pos[0]))
    return (out.lon, out.lat)


def from_wgs84(pos: Position, crs: Crs) -> Position:
    """WGS-84 to `crs`; a point outside China keeps its WGS-84 value (GCJ-02 is not defined there)."""
    if crs == Crs.wgs84 or not in_china(*pos):
        return pos
    out = _FROM_WGS[crs](prcoords.Coords(pos[1], pos[0]))
    return (out.lon, out.lat)
