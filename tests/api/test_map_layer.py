"""One map, item 2: GET /v1/map/communities — the GeoJSON layer, who sees what, its layers, bounds,
ETag / 304 — and one community's buildings, through HTTP at the frozen instant (2026-06-16, Beijing)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from services.geo import layer
from services.geo.crs import Crs, from_wgs84
from services.models import Role, User, utcnow
from services.models.alarms import AlarmDevice
from services.models.kpis import KpiSnapshot
from services.models.renovation import RenovationItem, RenovationProject
from services.models.tickets import Ticket
from tests import factories as f
from tests.api.test_map_street_office import street_office
from tests.statements import assert_same_count, count_statements

A_POINT = (116.404, 39.915)  # Beijing
B_POINT = (121.47, 31.23)  # Shanghai: outside A's bbox
A_BBOX = "116.3,39.8,116.5,40.0"
EVENT = b"<EventNotificationAlert><eventType>fielddetection</eventType><eventState>active</eventState></EventNotificationAlert>"


async def _place(client: httpx.AsyncClient, admin: User, cid: int, point: tuple[float, float]) -> None:
    lon, lat = point
    ring = [[lon - 0.002, lat - 0.002], [lon + 0.002, lat - 0.002], [lon + 0.002, lat + 0.002], [lon - 0.002, lat + 0.002], [lon - 0.002, lat - 0.002]]  # fmt: skip
    body = {
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "boundary": {"type": "Polygon", "coordinates": [ring]},
    }
    r = await client.put(f"/v1/communities/{cid}/geometry", json=body, headers=f.auth(admin))
    assert r.status_code == 200, r.text


class World:
    t: Any
    b: int
    admin: User
    secretary: User
    grid: User


async def world(client: httpx.AsyncClient, db: AsyncSession) -> World:
    w = World()
    w.t = await f.ticket_world(db)
    a = w.t.cid
    b = await f.community(db)
    assert b.id
    w.b = b.id
    w.admin = await f.platform_admin(db)
    await _place(client, w.admin, a, A_POINT)
    await _place(client, w.admin, w.b, B_POINT)
    w.secretary = await f.community_staff(db, w.t.community, Role.party_secretary, "党支部书记")
    w.grid = await f.community_staff(db, w.t.community, Role.grid_worker, "网格员")
    # Two open tickets, one past its resolution due time.
    first = await f.file_ticket(client, w.t)
    await f.file_ticket(client, w.t)
    row = await db.get(Ticket, int(first["id"]))
    assert row is not None
    row.resolution_due_at = utcnow() - timedelta(hours=1)
    db.add(row)
    # Two cameras, one offline, and one active alarm.
    cam = await f.alarm_device(client, w.t.manager, a)
    off = await f.alarm_device(client, w.t.manager, a, name="西门摄像机")
    dev = await db.get(AlarmDevice, int(off["id"]))
    assert dev is not None
    dev.status = "offline"
    db.add(dev)
    r = await client.post(
        "/v1/alarm-ingest/isapi", params={"device": cam["serial"], "token": cam["secret"]}, content=EVENT,
        headers={"Content-Type": "application/xml"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    # A renovation project of 2023 with basic and upgrade works.
    p = RenovationProject(community_id=a, title="老旧小区改造", year=2023, created_by=w.admin.id or 0)
    db.add(p)
    await db.flush()
    for cls in ("basic", "upgrade"):
        db.add(
            RenovationItem(
                project_id=p.id or 0, item_class=cls, name=cls, quantity="1", unit="项", budget_fen=100
            )
        )
    # KPI roll-up of the last closed month (May 2026 at the default instant): one metric met, one missed.
    may = layer.last_closed_month(utcnow(), ZoneInfo("Asia/Shanghai"))
    before = layer.last_closed_month(datetime.combine(may, time(12), UTC), ZoneInfo("Asia/Shanghai"))
    db.add(KpiSnapshot(scope="community", scope_id=a, metric="owner_satisfaction", granularity="month", period_start=may, numerator=19, denominator=20, value=95.0))  # fmt: skip
    db.add(KpiSnapshot(scope="community", scope_id=a, metric="repair_timeliness", granularity="month", period_start=may, numerator=9, denominator=10, value=90.0))  # fmt: skip
    # An older month does not count.
    db.add(KpiSnapshot(scope="community", scope_id=a, metric="rating_rate", granularity="month", period_start=before, numerator=0, denominator=10, value=0.0))  # fmt: skip
    await db.flush()
    return w


def by_id(r: httpx.Response) -> dict[int, dict[str, Any]]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    return {int(x["id"]): x for x in body["features"]}


async def test_the_layer_carries_every_part(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(client, db)
    a = w.t.cid
    r = await client.get("/v1/map/communities", params={"bbox": A_BBOX}, headers=f.auth(w.admin))
    features = by_id(r)
    assert list(features) == [a]
    feat = features[a]
    assert feat["geometry"]["type"] == "Polygon"
    props = feat["properties"]
    assert props["point"] == {"type": "Point", "coordinates": list(A_POINT)}
    assert props["tickets"] == {"open": 2, "overdue": 1}
    assert props["alarms"] == {"active": 1}
    assert props["cameras"] == {"online": 1, "total": 2}
    assert props["renovation"] == {"year": 2023, "classes": ["basic", "upgrade"], "projects": 1}
    kpi = props["kpi"]
    assert kpi["period"] == layer.last_closed_month(utcnow(), ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert kpi["colour"] == "red"
    assert kpi["metrics"] == {
        "owner_satisfaction": {"value": 95.0, "target": 95.0, "status": "met"},
        "repair_timeliness": {"value": 90.0, "target": 100.0, "status": "missed"},
    }
    people = props["people"]
    assert people["property_manager"]["name"] == "物业经理"
    assert people["party_secretary"]["name"] == "党支部书记"
    assert people["committee_chair"]["name"] == "业委会委员"
    assert people["grid_worker"]["name"] == "网格员"
    for who, person in ((w.t.manager, people["property_manager"]), (w.grid, people["grid_worker"])):
        national = who.phone.removeprefix("+86")
        assert person["phone"] == national[:3] + "****" + national[-4:]
        assert who.phone not in r.text and national not in r.text  # masked everywhere


async def test_who_sees_which_communities(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(client, db)
    a, b = w.t.cid, w.b
    c = await f.community(db)  # a third, no geometry yet: shown without a bbox, geometry null
    seen = by_id(await client.get("/v1/map/communities", headers=f.auth(w.admin)))
    assert set(seen) == {a, b, c.id} and seen[c.id or 0]["geometry"] is None
    for who in (w.t.manager, w.t.resident, w.t.committee, w.secretary):
        assert set(by_id(await client.get("/v1/map/communities", headers=f.auth(who)))) == {a}
    officer = await street_office(client, db, b)
    assert set(by_id(await client.get("/v1/map/communities", headers=f.auth(officer)))) == {b}
    nobody = await f.user(db, "无小区")
    assert by_id(await client.get("/v1/map/communities", headers=f.auth(nobody))) == {}
    assert (await client.get("/v1/map/communities")).status_code == 401
    # One community's buildings: on the map or 404.
    r = await client.get(f"/v1/map/communities/{b}/buildings", headers=f.auth(w.t.manager))
    assert r.status_code == 404


async def test_crs_layers_and_buildings(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(client, db)
    a = w.t.cid
    gcj = from_wgs84(A_POINT, Crs.gcj02)
    gcj_bbox = f"{gcj[0] - 0.05},{gcj[1] - 0.05},{gcj[0] + 0.05},{gcj[1] + 0.05}"
    r = await client.get(
        "/v1/map/communities", params={"bbox": gcj_bbox, "crs": "gcj02", "layers": "tickets,kpi"},
        headers=f.auth(w.t.manager),
    )  # fmt: skip
    feat = by_id(r)[a]
    lon, lat = feat["properties"]["point"]["coordinates"]
    assert abs(lon - gcj[0]) < 1e-6 and abs(lat - gcj[1]) < 1e-6
    assert {"tickets", "kpi"} <= set(feat["properties"]) and "people" not in feat["properties"]
    assert r.json()["crs"] == "gcj02"

    body = {"location": {"type": "Point", "coordinates": [116.4045, 39.9152]}}
    admin = await f.community_staff(db, w.t.community, Role.community_admin, "居委会2")
    url = f"/v1/communities/{a}/buildings/{w.t.building.id}/geometry"
    assert (await client.put(url, json=body, headers=f.auth(admin))).status_code == 200
    r = await client.get(
        f"/v1/map/communities/{a}/buildings", params={"crs": "bd09"}, headers=f.auth(w.t.resident)
    )
    assert r.status_code == 200, r.text
    [bf] = r.json()["features"]
    assert bf["id"] == w.t.building.id and bf["properties"]["name"] == w.t.building.name
    expect = from_wgs84((116.4045, 39.9152), Crs.bd09)
    assert abs(bf["geometry"]["coordinates"][0] - expect[0]) < 1e-6


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"bbox": "116.5,39.8,116.3,40.0"}, "geo.invalid_bbox", "bbox"),  # inverted
        ({"bbox": "1,2,3"}, "geo.invalid_bbox", "bbox"),
        ({"bbox": "70,10,140,55"}, "geo.bbox_too_large", "bbox"),
        ({"layers": "tickets,weather"}, "geo.unknown_layer", "layers"),
    ],
)
async def test_bad_queries_are_422_with_the_field(
    client: httpx.AsyncClient, db: AsyncSession, params: dict[str, str], code: str, field: str
) -> None:
    admin = await f.platform_admin(db)
    r = await client.get("/v1/map/communities", params=params, headers=f.auth(admin))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["details"]["field"] == field
    r = await client.get("/v1/map/communities", params={"crs": "epsg3857"}, headers=f.auth(admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"


async def test_bounds_bbox_required_and_cap(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await world(client, db)
    monkeypatch.setattr(layer, "UNBOUNDED_MAX", 1)
    r = await client.get("/v1/map/communities", headers=f.auth(w.admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "geo.bbox_required"
    monkeypatch.setattr(layer, "MAX_FEATURES", 1)
    both = "116.0,31.0,122.0,40.0"
    r = await client.get("/v1/map/communities", params={"bbox": both}, headers=f.auth(w.admin))
    assert r.status_code == 200 and r.json()["truncated"] is True and len(r.json()["features"]) == 1


async def test_etag_answers_304_until_something_changes(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(client, db)
    h = f.auth(w.t.manager)
    first = await client.get("/v1/map/communities", headers=h)
    tag = first.headers["etag"]
    again = await client.get("/v1/map/communities", headers={**h, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    await f.file_ticket(client, w.t)
    changed = await client.get("/v1/map/communities", headers={**h, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert by_id(changed)[w.t.cid]["properties"]["tickets"]["open"] == 3


async def test_one_query_per_layer_not_per_community(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """A page of many communities costs the same statements as a page of one."""
    w = await world(client, db)
    runs: dict[str, list[str]] = {}
    for extra in (0, 5):
        for _ in range(extra):
            c = await f.community(db)
            await f.member(db, w.t.manager, Role.committee_member, community_id=c.id)
        with count_statements(engine) as seen:
            r = await client.get("/v1/map/communities", headers=f.auth(w.t.manager))
        assert r.status_code == 200 and len(r.json()["features"]) == 1 + extra
        runs[f"{1 + extra} communities"] = list(seen)
    assert assert_same_count(runs) > 0
