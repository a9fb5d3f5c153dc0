"""Figures per community, metric and period: from snapshots where a closed period has one, live
otherwise (always for the current period). One query per metric for all communities at once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis.facts import Fact, Frame, bucket
from services.kpis.metrics import METRICS
from services.kpis.periods import Period, instant, periods_between
from services.models.kpis import KpiRollupState, KpiSnapshot

Key = tuple[int, str, date]  # community, metric, period start


@dataclass(frozen=True)
class Cell:
    numerator: int
    denominator: int
    source: str  # live | snapshot
    computed_at: datetime | None = None


def visible_periods(first: date, last: date, granularity: str, tz: ZoneInfo, now: datetime) -> list[Period]:
    """The periods of [first, last] that have begun by `now` (future periods have no figures)."""
    return [p for p in periods_between(first, last, granularity) if instant(p.start, tz) <= now]


def is_closed(p: Period, tz: ZoneInfo, now: datetime) -> bool:
    return instant(p.end, tz) <= now


async def fetch_facts(
    session: AsyncSession, metric: str, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    source = METRICS[metric].source
    if source is None or not cids or hi <= lo:
        return []
    return await source(session, cids, lo, hi, now)


async def live(
    session: AsyncSession,
    zones: dict[int, ZoneInfo],
    metrics: list[str],
    periods: dict[int, list[Period]],
    now: datetime,
) -> dict[Key, Cell]:
    """Live figures for the given contiguous period lists (one per community)."""
    wanted = {cid: ps for cid, ps in periods.items() if ps}
    if not wanted:
        return {}
    lo = min(instant(ps[0].start, zones[cid]) for cid, ps in wanted.items())
    hi = min(max(instant(ps[-1].end, zones[cid]) for cid, ps in wanted.items()), now)
    frames = {cid: Frame.build(ps, zones[cid], now) for cid, ps in wanted.items()}
    out: dict[Key, Cell] = {}
    for metric in metrics:
        by_cid: dict[int, list[Fact]] = defaultdict(list)
        for fact in await fetch_facts(session, metric, sorted(wanted), lo, hi, now):
            by_cid[fact.community_id].append(fact)
        for cid, frame in frames.items():
            cells = bucket(by_cid.get(cid, []), frame, METRICS[metric].quantile)
            for p, (num, den) in zip(frame.periods, cells, strict=True):
                out[(cid, metric, p.start)] = Cell(num, den, "live", now)
    return out


async def stored(
    session: AsyncSession, cids: list[int], metrics: list[str], granularity: str, first: date, last: date
) -> dict[Key, Cell]:
    if not cids:
        return {}
    k = KpiSnapshot.__table__.c  # type: ignore[attr-defined]
    stmt = sa.select(k.scope_id, k.metric, k.period_start, k.numerator, k.denominator, k.computed_at).where(
        k.scope == "community",
        k.scope_id.in_(cids),
        k.metric.in_(metrics),
        k.granularity == granularity,
        k.period_start >= first,
        k.period_start <= last,
    )
    rows = (await session.execute(stmt)).all()
    return {(cid, m, start): Cell(num, den, "snapshot", at) for cid, m, start, num, den, at in rows}


_RS_TABLE = KpiRollupState.__table__  # type: ignore[attr-defined]
_RS = _RS_TABLE.c


def rollup_mark(which: sa.ColumnElement[bool]) -> tuple[sa.ScalarSelect[Any], sa.ScalarSelect[Any]]:
    """The roll-up mark of the communities `which` picks (their last run, how many): every roll-up run
    moves it, so a table built from their snapshots can be reused until it changes. Two scalar
    columns, so a statement can read it beside others (the community dashboard's head)."""
    return (
        sa.select(sa.func.max(_RS.last_rollup_at)).where(which).scalar_subquery(),
        sa.select(sa.func.count()).select_from(_RS_TABLE).where(which).scalar_subquery(),
    )


async def rollup_version(session: AsyncSession, cids: list[int]) -> tuple[Any, ...]:
    """The roll-up mark of these communities."""
    return tuple((await session.execute(sa.select(*rollup_mark(_RS.community_id.in_(cids))))).one())


async def stored_totals(
    session: AsyncSession, cids: list[int], metrics: list[str], granularity: str, first: date, last: date
) -> dict[tuple[str, date], tuple[Cell, int]]:
    """Snapshots summed over the communities in the database: (metric, period start) → (the sum, how
    many communities had a snapshot). A company dashboard reads 8 × 24 rows instead of 50 × that."""
    if not cids:
        return {}
    k = KpiSnapshot.__table__.c  # type: ignore[attr-defined]
    stmt = (
        sa.select(
            k.metric,
            k.period_start,
            sa.func.sum(k.numerator),
            sa.func.sum(k.denominator),
            sa.func.max(k.computed_at),
            sa.func.count(),
        )
        .where(
            k.scope == "community",
            k.scope_id.in_(cids),
            k.metric.in_(metrics),
            k.granularity == granularity,
            k.period_start >= first,
            k.period_start <= last,
        )
        .group_by(k.metric, k.period_start)
    )
    rows = (await session.execute(stmt)).all()
    return {
        (m, start): (Cell(int(num), int(den), "snapshot", at), int(n)) for m, start, num, den, at, n in rows
    }


async def figures(
    session: AsyncSession,
    zones: dict[int, ZoneInfo],
    metrics: list[str],
    granularity: str,
    first: date,
    last: date,
    now: datetime,
    *,
    force_live: bool = False,
) -> tuple[dict[int, list[Period]], dict[Key, Cell]]:
    """Every (community, metric, period) cell of the range. Snapshots answer closed periods; the
    rest (the current period, periods never rolled up) is computed live from the first gap on."""
    periods = {cid: visible_periods(first, last, granularity, tz, now) for cid, tz in zones.items()}
    cells: dict[Key, Cell] = {}
    if not force_live:
        starts = [p.start for ps in periods.values() for p in ps]
        if starts:
            cells = await stored(session, sorted(zones), metrics, granularity, min(starts), max(starts))
        # Closed periods ending before a community's first data were rolled up as empty.
        states = (
            await session.exec(
                select(KpiRollupState).where(col(KpiRollupState.community_id).in_(sorted(zones)))
            )
        ).all()
        for st in states:
            if st.covered_from is None or st.last_rollup_at is None:
                continue
            empty_until = min(st.covered_from, st.last_rollup_at)
            for p in periods.get(st.community_id, []):
                if instant(p.end, zones[st.community_id]) <= empty_until:
                    for m in metrics:
                        key = (st.community_id, m, p.start)
                        cells.setdefault(key, Cell(0, 0, "snapshot", st.last_rollup_at))
    gaps: dict[int, list[Period]] = {}
    for cid, ps in periods.items():
        missing = [
            i
            for i, p in enumerate(ps)
            if not is_closed(p, zones[cid], now) or any((cid, m, p.start) not in cells for m in metrics)
        ]
        gaps[cid] = ps[missing[0] :] if missing else []
    computed = await live(session, zones, metrics, gaps, now)
    for key, cell in computed.items():
        if force_live or key not in cells:
            cells[key] = cell
    return periods, cells
