"""One map, speed: the layer reads maintained counters (community_map_stats), refreshed by the worker's
`refresh_map_stats` job; no request counts tickets. Through HTTP at the frozen instant."""

from __future__ import annotations

import re
from typing import Any

import httpx
import time_machine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.geo import layer
from services.geo.crs import Crs
from services.geo.geometry import geometry_out
from services.models.geo import CommunityMapStats
from tests import factories as f
from tests.api.test_alarms_app import raise_alarm
from tests.api.test_map_layer import A_BBOX, by_id, world
from tests.conftest import App
from tests.statements import count_statements
from workers.runner import JOBS
from workers.tasks import alarm_presence
from workers.tasks.map_stats import refresh_map_stats

HOUR = 3600


def counts(r: httpx.Response, cid: int) -> dict[str, Any]:
    props = by_id(r)[cid]["properties"]
    return {k: props[k] for k in ("tickets", "alarms", "cameras")} | {"as_of": props["stats_as_of"]}


async def test_counts_follow_tickets_alarms_and_cameras(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    frozen_clock: time_machine.Coordinates,
) -> None:
    assert "refresh_map_stats" in {j.name for j in JOBS}
    client = app.client
    w = await world(client, db)
    a = w.t.cid
    res = Resources(engine, sessionmaker, app.runtime)

    async def layer_now() -> dict[str, Any]:
        # A fresh token each time: the clock jumps days below.
        r = await client.get("/v1/map/communities", params={"bbox": A_BBOX}, headers=f.auth(w.admin))
        return counts(r, a)

    # No row yet: counted in the request, as of null.
    before = await layer_now()
    assert before["tickets"] == {"open": 2, "overdue": 1} and before["as_of"] is None
    # The first pass fills every community (the migration does not backfill).
    assert await refresh_map_stats(res) >= 2
    row = await db.get(CommunityMapStats, a)
    assert row is not None and (row.open_tickets, row.overdue_tickets) == (2, 1)
    assert (row.active_alarms, row.cameras_online, row.cameras_total) == (1, 1, 2)
    first = await layer_now()
    assert first["tickets"] == {"open": 2, "overdue": 1}
    assert first["alarms"] == {"active": 1} and first["cameras"] == {"online": 1, "total": 2}
    assert first["as_of"] is not None

    # Create: served from the counters, so not seen until the next pass, which recounts only A.
    t = await f.file_ticket(client, w.t)
    assert (await layer_now())["tickets"]["open"] == 2
    assert await refresh_map_stats(res) == 1
    assert (await layer_now())["tickets"] == {"open": 3, "overdue": 1}
    assert await refresh_map_stats(res) == 0  # nothing new: nothing recounted

    # Close (the resident cancels): one open fewer.
    r = await f.act(client, w.t.resident, t, "cancel", reason="自己修好了")
    assert r.status_code == 200, r.text
    assert await refresh_map_stats(res) == 1
    assert (await layer_now())["tickets"] == {"open": 2, "overdue": 1}

    # Overdue with the clock and no event: three days on, the unanswered ticket has missed its
    # response time; the pass recounts A because its next due time has passed.
    frozen_clock.shift(3 * 24 * HOUR)
    assert (await layer_now())["tickets"]["overdue"] == 1
    assert await refresh_map_stats(res) == 1
    assert (await layer_now())["tickets"] == {"open": 2, "overdue": 2}
    row = await db.get(CommunityMapStats, a)
    assert row is not None
    await db.refresh(row)
    assert row.next_change_at is None  # both are overdue already: no instant to wait for

    # An alarm raised, then cleared.
    cam = await f.alarm_device(client, w.t.manager, a, name="南门摄像机")
    await refresh_map_stats(res)
    assert (await layer_now())["cameras"] == {"online": 2, "total": 3}
    alarm_id = await raise_alarm(client, cam, "linedetection")
    assert await refresh_map_stats(res) == 1
    assert (await layer_now())["alarms"] == {"active": 2}
    r = await client.post(f"/v1/alarms/{alarm_id}/clear", headers=f.auth(w.t.manager))
    assert r.status_code == 200, r.text
    assert await refresh_map_stats(res) == 1
    assert (await layer_now())["alarms"] == {"active": 1}

    # A camera with a heartbeat goes silent: the presence sweep marks it offline (and raises its
    # device_offline alarm); the pass sees the device change.
    await f.alarm_device(client, w.t.manager, a, name="北门摄像机", heartbeat_interval_seconds=60)
    await refresh_map_stats(res)
    assert (await layer_now())["cameras"] == {"online": 3, "total": 4}
    frozen_clock.shift(10 * 60)
    assert await alarm_presence.sweep_presence(res) >= 1
    assert await refresh_map_stats(res) == 1
    now = await layer_now()
    assert now["cameras"]["total"] == 4 and now["cameras"]["online"] < 3


async def test_the_etag_changes_when_a_counted_value_does(
    app: App, db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = app.client
    w = await world(client, db)
    res = Resources(engine, sessionmaker, app.runtime)
    await refresh_map_stats(res)
    h = f.auth(w.t.manager)
    tag = (await client.get("/v1/map/communities", headers=h)).headers["etag"]
    assert (await client.get("/v1/map/communities", headers={**h, "If-None-Match": tag})).status_code == 304
    await f.file_ticket(client, w.t)
    # The counters have not seen it yet: still the same answer.
    assert (await client.get("/v1/map/communities", headers={**h, "If-None-Match": tag})).status_code == 304
    await refresh_map_stats(res)
    changed = await client.get("/v1/map/communities", headers={**h, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert by_id(changed)[w.t.cid]["properties"]["tickets"]["open"] == 3


async def test_a_layer_request_never_reads_the_ticket_table(
    app: App, db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = app.client
    w = await world(client, db)
    await refresh_map_stats(Resources(engine, sessionmaker, app.runtime))
    with count_statements(engine) as seen:
        r = await client.get("/v1/map/communities", params={"crs": "gcj02"}, headers=f.auth(w.admin))
    assert r.status_code == 200 and by_id(r)[w.t.cid]["properties"]["tickets"] == {"open": 2, "overdue": 1}
    touching = [s for s in seen if re.search(r"\bticket\b", s, re.IGNORECASE)]
    assert seen and touching == [], touching
    assert any("community_map_stats" in s for s in seen)


async def test_converted_outlines_are_cached_until_the_geometry_changes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(client, db)
    a = w.t.cid
    h = f.auth(w.admin)
    params = {"bbox": A_BBOX, "crs": "bd09"}
    first = by_id(await client.get("/v1/map/communities", params=params, headers=h))[a]["geometry"]
    hit = layer._CONVERTED.get((a, "outline", Crs.bd09))
    assert hit is not None and hit[1] == first
    again = by_id(await client.get("/v1/map/communities", params=params, headers=h))[a]["geometry"]
    assert again == first and layer._CONVERTED.get((a, "outline", Crs.bd09)) is hit  # not reconverted
    # A new outline: reconverted on the next request.
    lon, lat = 116.41, 39.92
    ring = [[lon, lat], [lon + 0.003, lat], [lon + 0.003, lat + 0.003], [lon, lat + 0.003], [lon, lat]]
    body = {"boundary": {"type": "Polygon", "coordinates": [ring]}}
    r = await client.put(f"/v1/communities/{a}/geometry", json=body, headers=h)
    assert r.status_code == 200, r.text
    moved = by_id(await client.get("/v1/map/communities", params=params, headers=h))[a]["geometry"]
    assert moved != first
    assert moved == geometry_out({"type": "Polygon", "coordinates": [ring]}, Crs.bd09)
    assert layer._CONVERTED.get((a, "outline", Crs.bd09)) is not hit
