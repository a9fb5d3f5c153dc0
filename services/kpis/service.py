"""KPI tables for a community or a property company: who may read them and how they are built.

Readers of a community's KPIs: its community admin, committee, party secretary, grid workers,
property manager and verified residents (the figures are published on the noticeboard anyway);
property staff and everyone outside get 403 / 404. The drill-down lists tickets, so residents may
not use it. Company KPIs: the company's property manager and staff, platform admins; a member of a
community the company manages gets 403, anyone else 404.

A company's figure for a period is the sum of the numerators and denominators of the communities it
managed under contract on any day of that period, each community counted in its own time zone.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

import services.kpis.messages  # noqa: F401
from services.access import Principal, require_community
from services.config import get_settings
from services.driver_sql import DriverStatement
from services.errors import Forbidden, NotFound
from services.kpis import catalogue, targets
from services.kpis import periods as P
from services.kpis.compute import Cell, figures, is_closed, rollup_mark, rollup_version, stored_totals
from services.kpis.metrics import METRICS
from services.kpis.schemas import KpiPeriod, KpiSeries, KpiTable, MetricDefinition, TargetOut, TargetsIn
from services.kpis.targets import check_metrics, effective, effective_of
from services.lru import Lru
from services.models import Community, ManagementContract, PropertyCompany, Role, utcnow
from services.models.kpis import KpiRollupState, KpiTarget
from services.runtime import Ctx

READERS = (
    Role.community_admin,
    Role.committee_member,
    Role.party_secretary,
    Role.grid_worker,
    Role.property_manager,
    Role.resident,
)
DRILL_READERS = tuple(r for r in READERS if r != Role.resident)
TARGET_WRITERS = (Role.community_admin, Role.committee_member)
COMPANY_READERS = (Role.property_manager, Role.property_staff)
COMPANY_TARGET_WRITERS = (Role.property_manager,)
DEFAULT_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Query:
    first: date
    last: date
    granularity: str
    metrics: list[str]
    live: bool = False


def parse_query(
    first: date | None, last: date | None, granularity: str, metrics: str | None, live: bool, zone: str
) -> Query:
    if granularity not in P.GRANULARITIES:
        P.floor(date.today(), granularity)  # raises kpi.unknown_granularity
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    last = last or today
    if first is None:
        back = P.floor(last, "month").start
        first = (
            date(back.year - 1, back.month, 1) if back.month == 12 else date(back.year - 1, back.month + 1, 1)
        )
        first = min(first, last)
    P.validate_range(first, last)
    names = [m.strip() for m in (metrics or "").split(",") if m.strip()] or list(METRICS)
    return Query(first, last, granularity, check_metrics(list(dict.fromkeys(names))), live)


def zone_of(c: Community) -> ZoneInfo:
    return zone_named(c.time_zone)


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


async def load_community(ctx: Ctx, cid: int, roles: tuple[str, ...]) -> Community:
    require_community(ctx.require_principal(), cid, roles)
    c = await ctx.session.get(Community, cid)
    if c is None or c.deleted_at is not None:
        raise NotFound("community.not_found")
    return c


_MC = ManagementContract.__table__.c  # type: ignore[attr-defined]
_C = Community.__table__.c  # type: ignore[attr-defined]
_T = KpiTarget.__table__.c  # type: ignore[attr-defined]
_R = KpiRollupState.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CommunityHead:
    """What a community's dashboard reads before its figures: the zone, the targets in force and the
    roll-up mark that keys the kept table."""

    id: int
    time_zone: str
    targets: dict[str, TargetOut]
    rollup: tuple[Any, ...]


# One statement for all three (the dashboard is the hottest KPI read): one row per own target, or
# one row of NULL targets; the roll-up mark is compute.rollup_mark, as the company dashboard's.
_HEAD = DriverStatement(
    lambda _dialect: (
        sa.select(
            _C.time_zone,
            _C.deleted_at,
            *rollup_mark(_R.community_id == _C.id),
            _T.metric,
            _T.target,
            _T.updated_at,
        )
        .select_from(
            sa.outerjoin(
                Community.__table__,  # type: ignore[attr-defined]
                KpiTarget.__table__,  # type: ignore[attr-defined]
                sa.and_(_T.scope == "community", _T.scope_id == _C.id),
            )
        )
        .where(_C.id == sa.bindparam("cid"))
    )
)


async def read_head(session: AsyncSession, cid: int) -> CommunityHead | None:
    """A live community's head in one statement; None when it is missing or deleted."""
    rows = await _HEAD.rows(session, {"cid": cid})
    if not rows or rows[0][1] is not None:  # deleted_at
        return None
    time_zone, _deleted_at, last_rollup_at, rollups = rows[0][:4]
    own = [(metric, target, updated_at) for *_, metric, target, updated_at in rows if metric is not None]
    return CommunityHead(cid, time_zone, effective_of("community", own), (last_rollup_at, rollups))


async def community_head(ctx: Ctx, cid: int) -> CommunityHead:
    require_community(ctx.require_principal(), cid, READERS)
    if (head := await read_head(ctx.session, cid)) is None:
        raise NotFound("community.not_found")
    return head


# Plain rows, not ORM objects: a dashboard reads every contract and community of a company.
_CONTRACTS = sa.select(_MC.community_id, _MC.starts_on, _MC.ends_on).where(
    _MC.company_id == sa.bindparam("company_id")
)
_ZONES = sa.select(_C.id, _C.time_zone).where(
    _C.id.in_(sa.bindparam("ids", expanding=True)), _C.deleted_at.is_(None)
)


async def contracts(session: AsyncSession, company_id: int) -> list[tuple[int, date, date | None]]:
    rows = (await session.execute(_CONTRACTS, {"company_id": company_id})).all()
    return [(cid, s, e) for cid, s, e in rows]


async def require_company_reader(ctx: Ctx, company_id: int, roles: tuple[str, ...]) -> None:
    principal: Principal = ctx.require_principal()
    if await ctx.session.get(PropertyCompany, company_id) is None:
        raise NotFound("company.not_found")
    if principal.is_platform_admin:
        return
    held = principal.company_roles.get(company_id)
    if held is not None:
        if not set(roles) & held:
            raise Forbidden()
        return
    managed = {cid for cid, _, _ in await contracts(ctx.session, company_id)}
    if managed & principal.member_community_ids:
        raise Forbidden()  # e.g. a resident of a managed community
    raise NotFound("company.not_found")


def value_of(num: int, den: int, metric: str | None = None) -> float | None:
    """Percent (2 decimals), or minutes for a minutes metric (numerator in seconds × count)."""
    if den == 0:
        return None
    scale = 100 if metric is None or METRICS[metric].unit == "percent" else Decimal(1) / 60
    return float(round(Decimal(num) * scale / Decimal(den), 2))


def met_of(num: int, den: int, target: float, metric: str | None = None) -> bool | None:
    """Decided on the exact fraction; a lower-is-better metric meets a target it does not exceed."""
    if den == 0:
        return None
    m = METRICS[metric] if metric is not None else None
    scale = 100 if m is None or m.unit == "percent" else Decimal(1) / 60
    if m is not None and m.better == "lower":
        return Decimal(num) * scale <= Decimal(str(target)) * den
    return Decimal(num) * scale >= Decimal(str(target)) * den


def display_label(label: str, as_of: date | None, count: int | None, locale: str) -> str:
    """The period as a reader sees it: "2026-12（截至 12月2日，2 件）" / "2026-12 (to 2 Dec, 2 cases)"."""
    notes = []
    if locale == "en":
        if as_of is not None:
            notes.append(f"to {as_of.day} {as_of.strftime('%b')}")
        if count is not None:
            notes.append(f"{count} case" + ("" if count == 1 else "s"))
        return f"{label} ({', '.join(notes)})" if notes else label
    if as_of is not None:
        notes.append(f"截至 {as_of.month}月{as_of.day}日")
    if count is not None:
        notes.append(f"{count} 件")
    return f"{label}（{'，'.join(notes)}）" if notes else label


@dataclass(frozen=True)
class Clock:
    """When the table is read, in the zones its periods are local to: which period is still running."""

    now: datetime
    zones: tuple[ZoneInfo, ...]
    min_cases: int

    def as_of(self, p: P.Period) -> date | None:
        """None for a closed period; else the last local day counted so far."""
        if not self.zones or all(is_closed(p, tz, self.now) for tz in self.zones):
            return None
        today = min(P.local_date(self.now, tz) for tz in self.zones)
        return min(p.last_day, max(p.start, today))


def _period_out(
    p: P.Period, cells: list[Cell], target: float, clock: Clock, locale: str, metric: str | None = None
) -> KpiPeriod:
    num = sum(c.numerator for c in cells)
    den = sum(c.denominator for c in cells)
    sources = {c.source for c in cells}
    stamps = [c.computed_at for c in cells if c.computed_at is not None]
    as_of = clock.as_of(p)
    few = 0 < den < clock.min_cases
    return KpiPeriod(
        period=p.label,
        starts_on=p.start,
        ends_on=p.last_day,
        numerator=num,
        denominator=den,
        value=value_of(num, den, metric),
        met=None if as_of is not None else met_of(num, den, target, metric),
        source=sources.pop() if len(sources) == 1 else ("mixed" if sources else "live"),
        computed_at=max(stamps) if stamps else None,
        partial=as_of is not None,
        as_of=as_of,
        few_cases=few,
        label=display_label(p.label, as_of, den if few else None, locale),
    )


def definition_of(metric: str, target_source: str, locale: str) -> MetricDefinition:
    d = catalogue.get(metric)
    return MetricDefinition(
        **d.words(locale),
        formula=d.formula(locale),
        target_set_by=catalogue.target_note(target_source, locale),
    )


def _series(
    metric: str, target: TargetOut, rows: list[tuple[P.Period, list[Cell]]], locale: str, clock: Clock
) -> KpiSeries:
    m = METRICS[metric]
    return KpiSeries(
        metric=metric,
        title=m.title_en if locale == "en" else m.title_zh,
        target=target.target,
        target_source=target.source,
        definition=definition_of(metric, target.source, locale),
        min_cases=clock.min_cases,
        available=m.source is not None,
        unit=m.unit,  # type: ignore[arg-type]
        better=m.better,  # type: ignore[arg-type]
        periods=[_period_out(p, cells, target.target, clock, locale, metric) for p, cells in rows],
    )


def _min_cases() -> int:
    return get_settings().kpi_min_cases


async def community_kpis(
    ctx: Ctx, cid: int, q: Query, now: datetime | None = None, head: CommunityHead | None = None
) -> KpiTable:
    if head is None:
        head = await community_head(ctx, cid)
    return await community_table(
        ctx.session, head, q, now or utcnow(), ctx.locale, cache=ctx.runtime.kpi_dashboards
    )


async def community_table(
    session: AsyncSession,
    c: CommunityHead,
    q: Query,
    now: datetime,
    locale: str = "zh-CN",
    cache: Lru[Hashable, Any] | None = None,
) -> KpiTable:
    """The table for a community whose head (zone, targets, roll-up mark) is already read."""
    zones = {c.id: zone_named(c.time_zone)}
    targets = c.targets
    clock = Clock(now, (zones[c.id],), _min_cases())
    key: Hashable = None
    if cache is not None and _all_closed(q, zones[c.id], now):
        # A table of closed periods read from snapshots changes only with a roll-up run (it moves
        # last_rollup_at), a target or the zone: all in the key, so every replica reads its own
        # copy until the database says otherwise.
        key = (
            "community",
            c.id,
            c.time_zone,
            tuple((m, t.target, t.source, t.updated_at) for m, t in sorted(targets.items())),
            tuple(q.metrics),
            q.granularity,
            q.first,
            q.last,
            locale,
            clock.min_cases,
            c.rollup,
        )
        if (hit := cache.get(key)) is not None:
            return cast(KpiTable, hit)
    periods, cells = await figures(
        session, zones, q.metrics, q.granularity, q.first, q.last, now, force_live=q.live
    )
    series = [
        _series(m, targets[m], [(p, [cells[(c.id, m, p.start)]]) for p in periods[c.id]], locale, clock)
        for m in q.metrics
    ]
    table = _community_out(c, q, series)
    # Only when every cell came from a snapshot: a closed period computed live (never rolled up)
    # still moves with late data (a rating, a reopened ticket) without a roll-up to say so.
    if key is not None and all(cell.source == "snapshot" for cell in cells.values()):
        cache.put(key, table)  # type: ignore[union-attr]
    return table


def _all_closed(q: Query, tz: ZoneInfo, now: datetime) -> bool:
    if q.live:
        return False
    ordered = P.periods_between(q.first, q.last, q.granularity)
    return bool(ordered) and is_closed(ordered[-1], tz, now)


def _community_out(c: CommunityHead, q: Query, series: list[KpiSeries]) -> KpiTable:
    return KpiTable(
        scope="community",
        scope_id=c.id,
        granularity=q.granularity,
        from_=q.first,
        to=q.last,
        time_zones={c.id: c.time_zone},
        community_ids=[c.id],
        metrics=series,
    )


async def company_kpis(ctx: Ctx, company_id: int, q: Query, now: datetime | None = None) -> KpiTable:
    await require_company_reader(ctx, company_id, COMPANY_READERS)
    return await company_table(
        ctx.session, company_id, q, now or utcnow(), ctx.locale, cache=ctx.runtime.kpi_dashboards
    )


async def company_table(
    session: AsyncSession,
    company_id: int,
    q: Query,
    now: datetime,
    locale: str = "zh-CN",
    cache: Lru[Hashable, Any] | None = None,
) -> KpiTable:
    spans = [
        (cid, s, e)
        for cid, s, e in await contracts(session, company_id)
        if s <= q.last and (e is None or e >= q.first)
    ]
    cids = sorted({cid for cid, _, _ in spans})
    names: dict[int, str] = dict((await session.execute(_ZONES, {"ids": cids})).all()) if cids else {}
    zones = {cid: zone_named(name) for cid, name in names.items()}
    targets = await effective(session, "company", company_id)
    clock = Clock(now, tuple(zones[cid] for cid in sorted(zones)), _min_cases())
    key: Hashable = None
    if cache is not None and _summable(spans, zones, q, now):
        # Everything the table is built from; a roll-up run moves last_rollup_at, so it is a new key.
        key = (
            company_id,
            tuple(spans),
            tuple(sorted((cid, str(tz)) for cid, tz in zones.items())),
            tuple((m, t.target, t.source) for m, t in sorted(targets.items())),
            tuple(q.metrics),
            q.granularity,
            q.first,
            q.last,
            locale,
            await rollup_version(session, sorted(zones)),
        )
        if (hit := cache.get(key)) is not None:
            return cast(KpiTable, hit)
    summed = await _from_totals(session, spans, zones, q, now)
    if summed is not None:
        ordered, totals = summed
        series = [
            _series(m, targets[m], [(p, [totals[(m, p.start)]]) for p in ordered], locale, clock)
            for m in q.metrics
        ]
        table = _company_out(company_id, q, names, series)
        if cache is not None and key is not None:
            cache.put(key, table)
        return table
    periods, cells = await figures(
        session, zones, q.metrics, q.granularity, q.first, q.last, now, force_live=q.live
    )
    labels: dict[date, P.Period] = {}
    for ps in periods.values():
        for p in ps:
            labels.setdefault(p.start, p)
    ordered = [labels[k] for k in sorted(labels)]

    def members(p: P.Period) -> list[int]:
        return sorted(
            {cid for cid, s, e in spans if cid in zones and s <= p.last_day and (e is None or e >= p.start)}
        )

    series = []
    for m in q.metrics:
        rows = [(p, [cells[k] for cid in members(p) if (k := (cid, m, p.start)) in cells]) for p in ordered]
        series.append(_series(m, targets[m], rows, locale, clock))
    return _company_out(company_id, q, names, series)


def _company_out(company_id: int, q: Query, names: dict[int, str], series: list[KpiSeries]) -> KpiTable:
    return KpiTable(
        scope="company",
        scope_id=company_id,
        granularity=q.granularity,
        from_=q.first,
        to=q.last,
        time_zones=dict(sorted(names.items())),
        community_ids=sorted(names),
        metrics=series,
    )


def _summable(
    spans: list[tuple[int, date, date | None]], zones: dict[int, ZoneInfo], q: Query, now: datetime
) -> bool:
    """Every community under contract for the whole range and every period closed everywhere."""
    if q.live or not zones:
        return False
    if any(s > q.first or (e is not None and e < q.last) for cid, s, e in spans if cid in zones):
        return False
    ordered = P.periods_between(q.first, q.last, q.granularity)
    return bool(ordered) and all(is_closed(ordered[-1], tz, now) for tz in zones.values())


async def _from_totals(
    session: AsyncSession,
    spans: list[tuple[int, date, date | None]],
    zones: dict[int, ZoneInfo],
    q: Query,
    now: datetime,
) -> tuple[list[P.Period], dict[tuple[str, date], Cell]] | None:
    """The dashboard summed in the database, when that gives exactly what the per-community path
    would: every community under contract for the whole range, every period closed everywhere, and
    a snapshot of every community for every cell. Otherwise None (the general path decides)."""
    if not _summable(spans, zones, q, now):
        return None
    ordered = P.periods_between(q.first, q.last, q.granularity)
    totals = await stored_totals(session, sorted(zones), q.metrics, q.granularity, q.first, q.last)
    cells: dict[tuple[str, date], Cell] = {}
    for m in q.metrics:
        for p in ordered:
            found = totals.get((m, p.start))
            if found is None or found[1] != len(zones):
                return None
            cells[(m, p.start)] = found[0]
    return ordered, cells


# --- targets ---------------------------------------------------------------------------------------


async def community_targets(ctx: Ctx, cid: int) -> list[TargetOut]:
    await load_community(ctx, cid, READERS)
    return list((await effective(ctx.session, "community", cid)).values())


async def set_community_targets(ctx: Ctx, cid: int, body: TargetsIn) -> list[TargetOut]:
    await load_community(ctx, cid, TARGET_WRITERS)
    return await targets.put(ctx, "community", cid, body, community_id=cid)


async def company_targets(ctx: Ctx, company_id: int) -> list[TargetOut]:
    await require_company_reader(ctx, company_id, COMPANY_READERS)
    return list((await effective(ctx.session, "company", company_id)).values())


async def set_company_targets(ctx: Ctx, company_id: int, body: TargetsIn) -> list[TargetOut]:
    await require_company_reader(ctx, company_id, COMPANY_TARGET_WRITERS)
    return await targets.put(ctx, "company", company_id, body)
