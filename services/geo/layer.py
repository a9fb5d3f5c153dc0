"""The map layer (一张图): a GeoJSON FeatureCollection of the communities the caller may see.

Bounded: without a bbox the caller may see at most UNBOUNDED_MAX communities (else 422
geo.bbox_required), a bbox spans at most MAX_SPAN_DEG degrees, and at most MAX_FEATURES features come
back (`truncated` says when more matched). One grouped query per layer for the whole page of
communities, never one per community. KPI status comes from the roll-up (kpi_snapshot of the last
closed month); the ticket, alarm and camera counts from the maintained counters (services/geo/stats.py,
community_map_stats, refreshed by the worker within seconds; each feature says `stats_as_of`), so
no request counts tickets. The ETag / 304 is the shared conditional-GET
middleware's (a hash of the exact answer), so a refresh that changed nothing costs a few bytes.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

import services.geo.messages  # noqa: F401
from services import access
from services.communities.common import load_community
from services.errors import InvalidInput
from services.geo import stats
from services.geo.crs import Crs, to_wgs84
from services.geo.geometry import geometry_out
from services.geo.schemas import FeatureCollection
from services.kpis.metrics import METRICS
from services.lru import Lru
from services.models import (
    Building,
    Community,
    ManagementContract,
    Membership,
    MembershipStatus,
    Role,
    User,
    utcnow,
)
from services.models.kpis import KpiSnapshot, KpiTarget
from services.models.renovation import RenovationItem, RenovationProject
from services.phones import mask
from services.runtime import Ctx

UNBOUNDED_MAX = 200
MAX_FEATURES = 1000
MAX_SPAN_DEG = 10.0
LAYERS = ("renovation", "people", "tickets", "alarms", "cameras", "kpi")
COUNTED = ("tickets", "alarms", "cameras")  # from community_map_stats
AS_OF = "stats_as_of"
PEOPLE_ROLES = (Role.property_manager, Role.party_secretary, Role.committee_member, Role.grid_worker)
# The map's name for each responsible role; the committee has no chair role yet: its first-appointed
# verified member stands in.
PEOPLE_KEYS = {
    Role.property_manager: "property_manager",
    Role.party_secretary: "party_secretary",
    Role.committee_member: "committee_chair",
    Role.grid_worker: "grid_worker",
}


def _cols(model: Any) -> Any:
    return model.__table__.c


def _table(model: Any) -> Any:
    return model.__table__


_C = _cols(Community)
_B = _cols(Building)


def parse_layers(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return LAYERS
    wanted = tuple(dict.fromkeys(x.strip() for x in raw.split(",") if x.strip()))
    unknown = [x for x in wanted if x not in LAYERS]
    if unknown:
        raise InvalidInput(
            "geo.unknown_layer", details={"field": "layers", "unknown": unknown, "known": list(LAYERS)}
        )
    return wanted


def parse_bbox(raw: str | None, crs: Crs) -> tuple[float, float, float, float] | None:
    """`west,south,east,north` in `crs` → the same box in WGS-84 (corners converted, widened a little
    so a point near an edge is not lost to the shift between the systems)."""
    if raw is None:
        return None
    try:
        west, south, east, north = (float(x) for x in raw.split(","))
    except ValueError:
        raise InvalidInput("geo.invalid_bbox", details={"field": "bbox"}) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidInput("geo.invalid_bbox", details={"field": "bbox", "bbox": [west, south, east, north]})
    if east - west > MAX_SPAN_DEG or north - south > MAX_SPAN_DEG:
        raise InvalidInput("geo.bbox_too_large", details={"field": "bbox", "max_span_deg": MAX_SPAN_DEG})
    if crs != Crs.wgs84:
        w, s = to_wgs84((west, south), crs)
        e, n = to_wgs84((east, north), crs)
        pad = 0.01
        return (min(w, e) - pad, min(s, n) - pad, max(w, e) + pad, max(s, n) + pad)
    return (west, south, east, north)


async def communities_layer(
    ctx: Ctx, bbox_raw: str | None, crs: Crs, layers_raw: str | None
) -> FeatureCollection:
    p = ctx.require_principal()
    layers = parse_layers(layers_raw)
    bbox = parse_bbox(bbox_raw, crs)
    q = sa.select(
        _C.id, _C.name, _C.address, _C.district, _C.built_year, _C.renovated_year, _C.time_zone,
        # As stored text: parsed (orjson) only when the cache below has no answer for that text.
        sa.cast(_C.location, sa.Text).label("location"), sa.cast(_C.boundary, sa.Text).label("boundary"),
        _C.longitude, _C.latitude,
    ).where(access.map_filter(p, _C.id), _C.deleted_at.is_(None))  # fmt: skip
    if bbox is None:
        limit = UNBOUNDED_MAX
    else:
        west, south, east, north = bbox
        q = q.where(_C.longitude.between(west, east), _C.latitude.between(south, north))
        limit = MAX_FEATURES
    rows = (await ctx.session.execute(q.order_by(_C.id).limit(limit + 1))).all()
    if bbox is None and len(rows) > UNBOUNDED_MAX:
        raise InvalidInput("geo.bbox_required", details={"field": "bbox", "max_without_bbox": UNBOUNDED_MAX})
    truncated = len(rows) > limit
    rows = rows[:limit]
    ids = [r.id for r in rows]
    extra = await _layers(ctx.session, ids, {r.id: r.time_zone for r in rows}, layers)
    counted = any(x in layers for x in COUNTED)
    features = []
    for r in rows:
        point = converted(r.id, "point", r.location, crs)
        if point is None and r.longitude is not None and r.latitude is not None:
            # Created with latitude / longitude only (before geometry existed): that point, WGS-84.
            raw = orjson.dumps({"type": "Point", "coordinates": [r.longitude, r.latitude]}).decode()
            point = converted(r.id, "point", raw, crs)
        geometry = converted(r.id, "outline", r.boundary, crs) or point
        props: dict[str, Any] = {
            "id": r.id,
            "name": r.name,
            "address": r.address,
            "district": r.district,
            "built_year": r.built_year,
            "renovated_year": r.renovated_year,
            "point": point,
        }
        for layer in layers:
            got = extra[layer].get(r.id)
            props[layer] = got if got is not None else _EMPTY[layer]()
        if counted:
            props[AS_OF] = _instant(extra[AS_OF].get(r.id))
        if "renovation" in layers and props["renovation"]["year"] is None:
            props["renovation"]["year"] = r.renovated_year
        features.append({"type": "Feature", "id": r.id, "geometry": geometry, "properties": props})
    return FeatureCollection(crs=crs, features=features, truncated=truncated)


_INSTANTS: Lru[datetime, str] = Lru(64)


def _instant(at: datetime | None) -> str | None:
    """RFC 3339 UTC with six digits, the form api/timestamps.py sends, so it passes that rewrite at
    scanning speed; a full pass stamps every row alike, hence the small cache."""
    if at is None:
        return None
    text = _INSTANTS.get(at)
    if text is None:
        text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        _INSTANTS.put(at, text)
    return text


# A community's outline and point as sent, parsed and (GCJ-02 / BD-09) converted once per process:
# the conversion was ~30 % of the layer's CPU, parsing the stored JSON most of the rest of a row.
# Keyed by (community, part, system); the entry keeps the stored text it was made from and is used
# only while the stored text still equals it (one string compare), so a changed outline is redone
# on the next request, in every process. The cached dicts are shared: never mutated.
_CONVERTED: Lru[tuple[int, str, Crs], tuple[str, dict[str, Any] | None]] = Lru(8192)


def converted(cid: int, part: str, stored: str | None, crs: Crs) -> dict[str, Any] | None:
    if stored is None:
        return None
    key = (cid, part, crs)
    hit = _CONVERTED.get(key)
    if hit is not None and hit[0] == stored:
        return hit[1]
    geometry = orjson.loads(stored)  # JSON null when a Python None was stored
    out = geometry_out(geometry, crs) if geometry is not None else None
    _CONVERTED.put(key, (stored, out))
    return out


_EMPTY: dict[str, Any] = {
    "renovation": lambda: {"year": None, "classes": [], "projects": 0},
    "people": lambda: {k: None for k in PEOPLE_KEYS.values()},
    "tickets": lambda: {"open": 0, "overdue": 0},
    "alarms": lambda: {"active": 0},
    "cameras": lambda: {"online": 0, "total": 0},
    "kpi": lambda: {"period": None, "metrics": {}, "colour": "grey"},
}


async def _layers(
    session: AsyncSession, ids: list[int], zones: dict[int, str], layers: tuple[str, ...]
) -> dict[str, dict[int, Any]]:
    out: dict[str, dict[int, Any]] = {layer: {} for layer in (*LAYERS, AS_OF)}
    if not ids:
        return out
    now = utcnow()
    if "renovation" in layers:
        out["renovation"] = await _renovation(session, ids)
    if "people" in layers:
        out["people"] = await _people(session, ids, now.date())
    if any(x in layers for x in COUNTED):
        # The maintained counters (services/geo/stats.py), never a count of tickets per request.
        for cid, c in (await stats.read(session, ids, now)).items():
            out["tickets"][cid] = {"open": c.open_tickets, "overdue": c.overdue_tickets}
            out["alarms"][cid] = {"active": c.active_alarms}
            out["cameras"][cid] = {"online": c.cameras_online, "total": c.cameras_total}
            out[AS_OF][cid] = c.refreshed_at
    if "kpi" in layers:
        out["kpi"] = await _kpi(session, ids, zones, now)
    return out


async def _renovation(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rp = _cols(RenovationProject)
    ri = _cols(RenovationItem)
    rows = (
        await session.execute(
            sa.select(rp.community_id, rp.id, rp.year, ri.item_class)
            .select_from(_table(RenovationProject).outerjoin(_table(RenovationItem), ri.project_id == rp.id))
            .where(stats.among(session, rp.community_id, ids))
        )
    ).all()
    years: dict[int, int] = {}
    projects: dict[int, set[int]] = defaultdict(set)
    for cid, pid, year, _ in rows:
        years[cid] = max(years.get(cid, year), year)
        projects[cid].add(pid)
    classes: dict[int, set[str]] = defaultdict(set)
    for cid, _, year, item_class in rows:
        if year == years[cid] and item_class:
            classes[cid].add(item_class)
    return {
        cid: {"year": years[cid], "classes": sorted(classes[cid]), "projects": len(projects[cid])}
        for cid in years
    }


async def _people(session: AsyncSession, ids: list[int], today: date) -> dict[int, Any]:
    m = _cols(Membership)
    u = _cols(User)
    mc = _cols(ManagementContract)
    verified = sa.and_(m.status == MembershipStatus.verified, u.disabled_at.is_(None))
    community = (
        sa.select(m.community_id.label("cid"), m.role, m.id.label("mid"), u.name, u.phone)
        .join(
            _table(User),
            u.id == m.user_id,
        )
        .where(
            verified,
            stats.among(session, m.community_id, ids),
            m.role.in_([r.value for r in PEOPLE_ROLES[1:]]),
        )
    )
    company = (
        sa.select(mc.community_id.label("cid"), m.role, m.id.label("mid"), u.name, u.phone)
        .select_from(_table(ManagementContract))
        .join(_table(Membership), m.company_id == mc.company_id)
        .join(_table(User), u.id == m.user_id)
        .where(
            verified,
            stats.among(session, mc.community_id, ids),
            m.role == Role.property_manager,
            mc.starts_on <= today,
            sa.or_(mc.ends_on.is_(None), mc.ends_on >= today),
        )
    )
    rows = (await session.execute(sa.union_all(community, company).order_by("mid"))).all()
    out: dict[int, dict[str, Any]] = {}
    for cid, role, _, name, phone in rows:
        people = out.setdefault(cid, {k: None for k in PEOPLE_KEYS.values()})
        key = PEOPLE_KEYS[Role(role)]
        if people[key] is None:  # the first appointed (lowest membership id)
            people[key] = {"name": name, "phone": mask(phone)}
    return out


def last_closed_month(now: datetime, tz: ZoneInfo) -> date:
    local = now.astimezone(tz).date()
    return date(local.year - 1, 12, 1) if local.month == 1 else date(local.year, local.month - 1, 1)


async def _kpi(session: AsyncSession, ids: list[int], zones: dict[int, str], now: datetime) -> dict[int, Any]:
    by_zone = {z: last_closed_month(now, ZoneInfo(z)) for z in set(zones.values())}
    months = {cid: by_zone[zones[cid]] for cid in ids}
    s = _cols(KpiSnapshot)
    k = _cols(KpiTarget)
    snaps = (
        await session.execute(
            sa.select(s.scope_id, s.metric, s.period_start, s.numerator, s.denominator, s.value).where(
                s.scope == "community",
                stats.among(session, s.scope_id, ids),
                s.granularity == "month",
                s.period_start.in_(sorted(set(months.values()))),
            )
        )
    ).all()
    targets: dict[tuple[int, str], float] = {
        (sid, metric): float(target)
        for sid, metric, target in (
            await session.execute(
                sa.select(k.scope_id, k.metric, k.target).where(
                    k.scope == "community", stats.among(session, k.scope_id, ids)
                )
            )
        ).all()
    }
    defaults = {metric: float(m.default_target) for metric, m in METRICS.items()}
    out: dict[int, dict[str, Any]] = {}
    for cid, metric, start, num, den, value in snaps:
        if start != months[cid] or metric not in defaults:
            continue
        target = targets.get((cid, metric), defaults[metric])
        status = "no_data" if not den else ("met" if num * 100 >= target * den else "missed")
        entry = out.get(cid)
        if entry is None:  # (not setdefault: that builds the default dict for every row)
            entry = out[cid] = {"period": f"{start.year}-{start.month:02d}", "metrics": {}, "colour": "grey"}
        entry["metrics"][metric] = {"value": value, "target": target, "status": status}
    for entry in out.values():
        states = {m["status"] for m in entry["metrics"].values()}
        entry["colour"] = (
            "red" if "missed" in states
            else "amber" if "met" in states and "no_data" in states
            else "green" if "met" in states
            else "grey"
        )  # fmt: skip
    for cid in ids:
        out.setdefault(cid, {"period": None, "metrics": {}, "colour": "grey"})
        if out[cid]["period"] is None:
            m = months[cid]
            out[cid]["period"] = f"{m.year}-{m.month:02d}"
    return out


async def buildings_layer(ctx: Ctx, cid: int, crs: Crs) -> FeatureCollection:
    """The buildings of one community on the caller's map, as points."""
    access.require_map_reader(ctx.require_principal(), cid)
    await load_community(ctx, cid)
    rows = (
        await ctx.session.execute(
            sa.select(_B.id, _B.name, _B.floors, _B.location)
            .where(_B.community_id == cid)
            .order_by(_B.id)
            .limit(MAX_FEATURES + 1)
        )
    ).all()
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": geometry_out(r.location, crs),
            "properties": {"id": r.id, "community_id": cid, "name": r.name, "floors": r.floors},
        }
        for r in rows[:MAX_FEATURES]
    ]
    return FeatureCollection(crs=crs, features=features, truncated=len(rows) > MAX_FEATURES)


async def communities_image(
    ctx: Ctx, bbox_raw: str | None, crs: Crs, layers_raw: str | None, fmt: Literal["png", "svg"]
) -> bytes:
    """The same layer (same scope, bounds and errors), drawn without tiles (services/geo/render.py)."""
    from services.geo import render

    fc = await communities_layer(ctx, bbox_raw, crs, layers_raw)
    # Drawing takes ~0.2 s of CPU: off the event loop, like the KPI charts.
    return await asyncio.to_thread(render.render, fc, fmt, ctx.locale)
