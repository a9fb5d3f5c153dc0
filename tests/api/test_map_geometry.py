"""One map, item 1: geometry of communities and buildings in WGS-84 / GCJ-02 / BD-09, through HTTP."""

from __future__ import annotations

import itertools

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.geo.crs import Crs, from_wgs84, to_wgs84
from services.models import AuditLog, Role
from tests import factories as f

# Published reference pairs (lon, lat), not computed here:
# - wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915) = [116.41024449916938,
#   39.91640428150164]; bd09togcj02(116.404, 39.915) = [116.39762729119315, 39.90865673957631];
#   gcj02tobd09(116.404, 39.915) = [116.41036949371029, 39.92133699351021].
# - caijun/geoChina, tests/testthat (R): wgs_to_gcj(39.90734, 116.39089) = lat 39.90874107, lng 116.39713094.
# - hujiulong/gcoord, test/unit/crs/GCJ02.spec.js: GCJ02→WGS84 [123, 45] = [122.99395597, 44.99804071]
#   (5 decimals); GCJ02→BD09 [123, 45] = [123.00636499, 45.00636899].
WGS_TO_GCJ = [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ((116.39089, 39.90734), (116.39713094, 39.90874107)),
]
GCJ_TO_WGS = [((123.0, 45.0), (122.99395597, 44.99804071))]
GCJ_TO_BD = [
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ((123.0, 45.0), (123.00636499, 45.00636899)),
]
BD_TO_GCJ = [((116.404, 39.915), (116.39762729119315, 39.90865673957631))]


def close(a: tuple[float, float], b: tuple[float, float], eps: float = 5e-6) -> bool:
    return abs(a[0] - b[0]) < eps and abs(a[1] - b[1]) < eps


def test_conversions_match_published_reference_points() -> None:
    for wgs, gcj in WGS_TO_GCJ:
        assert close(from_wgs84(wgs, Crs.gcj02), gcj)
        assert close(to_wgs84(gcj, Crs.gcj02), wgs)  # the iterative inverse lands back on the input
    for gcj, wgs in GCJ_TO_WGS:
        assert close(to_wgs84(gcj, Crs.gcj02), wgs)
    for gcj, bd in GCJ_TO_BD:
        wgs = to_wgs84(gcj, Crs.gcj02)
        assert close(from_wgs84(wgs, Crs.bd09), bd)
    for bd, gcj in BD_TO_GCJ:
        assert close(from_wgs84(to_wgs84(bd, Crs.bd09), Crs.gcj02), gcj)
    # Outside China GCJ-02 is not defined: a WGS-84 point there comes back unchanged.
    assert from_wgs84((2.35, 48.85), Crs.gcj02) == (2.35, 48.85)


SQUARE_CW = [[116.39, 39.90], [116.39, 39.91], [116.40, 39.91], [116.40, 39.90], [116.39, 39.90]]


async def test_admin_sets_community_geometry_in_gcj02_stored_wgs84_and_audited(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    c = await f.community(db)
    admin = await f.community_staff(db, c, Role.community_admin, "居委会")
    gcj, wgs = (116.41024449916938, 39.91640428150164), (116.404, 39.915)
    body = {
        "crs": "gcj02",
        "location": {"type": "Point", "coordinates": list(gcj)},
        "boundary": {"type": "Polygon", "coordinates": [SQUARE_CW]},  # clockwise: accepted, re-wound
    }
    r = await client.put(f"/v1/communities/{c.id}/geometry", json=body, headers=f.auth(admin))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["crs"] == "gcj02" and close(tuple(out["location"]["coordinates"]), gcj, 1e-6)
    await db.refresh(c)
    assert c.location is not None and close(tuple(c.location["coordinates"]), wgs, 1e-6)
    assert c.longitude is not None and c.latitude is not None and close((c.longitude, c.latitude), wgs, 1e-6)
    assert c.boundary is not None
    ring = c.boundary["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    # Right-hand rule: exterior counter-clockwise (positive shoelace area).
    area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
    assert area > 0
    log = (await db.exec(select(AuditLog).where(AuditLog.action == "community.geometry"))).one()
    assert log.actor_id == admin.id and log.entity_id == str(c.id) and log.community_id == c.id

    # Read back in each system.
    for crs, expect in (("wgs84", wgs), ("gcj02", gcj), ("bd09", from_wgs84(wgs, Crs.bd09))):
        r = await client.get(f"/v1/communities/{c.id}/geometry", params={"crs": crs}, headers=f.auth(admin))
        assert r.status_code == 200, r.text
        assert close(tuple(r.json()["location"]["coordinates"]), expect, 1e-6)


async def test_outline_only_gets_a_point_inside(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    admin = await f.platform_admin(db)
    body = {"boundary": {"type": "Polygon", "coordinates": [SQUARE_CW]}}
    r = await client.put(f"/v1/communities/{c.id}/geometry", json=body, headers=f.auth(admin))
    assert r.status_code == 200, r.text
    lon, lat = r.json()["location"]["coordinates"]
    assert 116.39 < lon < 116.40 and 39.90 < lat < 39.91


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (  # bow tie
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [
                        [[116.39, 39.90], [116.40, 39.91], [116.40, 39.90], [116.39, 39.91], [116.39, 39.90]]
                    ],
                }
            },
            "geo.invalid_geometry",
            "boundary",
        ),
        (
            {"location": {"type": "Point", "coordinates": [190.0, 39.9]}},
            "geo.out_of_range",
            "location.coordinates",
        ),
        (
            {"crs": "gcj02", "location": {"type": "Point", "coordinates": [2.35, 48.85]}},
            "geo.outside_china",
            "location.coordinates",
        ),
        (
            {
                "crs": "bd09",
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]],
                },
            },
            "geo.outside_china",
            "boundary.coordinates[0]",
        ),
        (  # far more positions than an outline needs
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [
                        [[116.39 + i * 1e-6, 39.90] for i in range(2500)] + [[116.39, 39.91], [116.39, 39.90]]
                    ],
                }
            },
            "geo.invalid_geometry",
            "boundary",
        ),
        (
            {"location": {"type": "Point", "coordinates": [116.4, 91.0]}},
            "geo.out_of_range",
            "location.coordinates",
        ),
        (  # no ring at all (the fuzzer's find: a 500 before)
            {"boundary": {"bbox": [0, 0, 0, 0, 0, False], "type": "Polygon", "coordinates": []}},
            "geo.invalid_geometry",
            "boundary",
        ),
    ],
)
async def test_bad_geometry_is_422_with_the_field(
    client: httpx.AsyncClient, db: AsyncSession, body: dict[str, object], code: str, field: str
) -> None:
    c = await f.community(db)
    admin = await f.community_staff(db, c, Role.community_admin, "居委会")
    r = await client.put(f"/v1/communities/{c.id}/geometry", json=body, headers=f.auth(admin))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["details"]["field"] == field
    await db.refresh(c)
    assert c.location is None and c.boundary is None


async def test_unclosed_ring_and_unknown_crs_fail_validation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    c = await f.community(db)
    admin = await f.community_staff(db, c, Role.community_admin, "居委会")
    open_ring = {"boundary": {"type": "Polygon", "coordinates": [SQUARE_CW[:-1]]}}
    for body in (
        open_ring,
        {"crs": "epsg3857", "location": {"type": "Point", "coordinates": [116.4, 39.9]}},
        {},
    ):
        r = await client.put(f"/v1/communities/{c.id}/geometry", json=body, headers=f.auth(admin))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "request.invalid"


async def test_building_point_and_who_may_write(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c)
    admin = await f.community_staff(db, c, Role.community_admin, "居委会")
    committee = await f.community_staff(db, c, Role.committee_member, "委员")
    other = await f.community_staff(db, await f.community(db), Role.community_admin, "别的居委会")
    body = {
        "crs": "bd09",
        "location": {"type": "Point", "coordinates": [116.41036949371029, 39.92133699351021]},
    }
    url = f"/v1/communities/{c.id}/buildings/{b.id}/geometry"
    assert (await client.put(url, json=body)).status_code == 401
    assert (await client.put(url, json=body, headers=f.auth(committee))).status_code == 403
    assert (await client.put(url, json=body, headers=f.auth(other))).status_code == 404
    missing = await client.put(
        f"/v1/communities/{c.id}/buildings/999999/geometry", json=body, headers=f.auth(admin)
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "building.not_found"
    r = await client.put(url, json=body, headers=f.auth(admin))
    assert r.status_code == 200, r.text
    await db.refresh(b)
    row = b
    assert row.location is not None
    # bd09 (116.41036949, 39.92133699) is gcj02 (116.404, 39.915) by the reference pair.
    assert close(tuple(row.location["coordinates"]), to_wgs84((116.404, 39.915), Crs.gcj02), 1e-6)
    log = (await db.exec(select(AuditLog).where(AuditLog.action == "building.geometry"))).one()
    assert log.actor_id == admin.id and log.entity_id == str(b.id)
