"""The KPI roll-up: snapshots for closed periods, re-computed when a late change touches them, and
one below-target notification per community, metric and month.

For each community: X = the earliest instant a change since the last run can affect (dirty.py), or
the last run itself (periods that closed since then), or the first data on the first run. Every
closed period of every granularity that ends after X is computed from the same facts the live path
uses (one query per metric over the union of those periods) and upserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.kpis.messages  # noqa: F401
from services.db import insert_for
from services.kpis import dirty
from services.kpis import periods as P
from services.kpis.compute import fetch_facts
from services.kpis.facts import Frame, bucket
from services.kpis.metrics import METRICS
from services.kpis.service import met_of, value_of, zone_of
from services.kpis.targets import effective
from services.models import Community, Role, utcnow
from services.models.kpis import KpiAlert, KpiRollupState, KpiSnapshot
from services.notifications.outbox import notify
from services.tickets.people import users_with_roles

ALERT_GRANULARITIES = ("month",)
# Only the most recently closed months page anyone: a first roll-up over years of history (a newly
# onboarded community) or a late fix to an old month updates the snapshots but sends no alert.
ALERT_RECENT_MONTHS = 3
ALERT_ROLES = (Role.property_manager, Role.community_admin)
CHUNK = 500


@dataclass
class RollupResult:
    communities: int = 0
    snapshots: int = 0
    alerts: int = 0
    alerted: list[tuple[int, str, date]] = field(default_factory=list)


def closed_after(x: datetime, tz: ZoneInfo, now: datetime, granularity: str) -> list[P.Period]:
    """Closed periods (ended by `now`) that end after `x`."""
    today = P.local_date(now, tz)
    first = P.floor(P.local_date(x, tz), granularity)
    return [p for p in P.periods_between(first.start, today, granularity) if x < P.instant(p.end, tz) <= now]


async def rollup(
    session: AsyncSession, now: datetime | None = None, community_ids: list[int] | None = None
) -> RollupResult:
    now = now or utcnow()
    stmt = select(Community).where(col(Community.deleted_at).is_(None))
    if community_ids is not None:
        stmt = stmt.where(col(Community.id).in_(community_ids))
    communities = {c.id: c for c in (await session.exec(stmt)).all() if c.id is not None}
    states = {
        s.community_id: s
        for s in (
            await session.exec(
                select(KpiRollupState).where(col(KpiRollupState.community_id).in_(list(communities)))
            )
        ).all()
    }
    known = {cid: s for cid, s in states.items() if s.last_rollup_at is not None}
    touched, marks = await dirty.changes(session, known, now)
    result = RollupResult()
    for cid, c in sorted(communities.items()):
        state = states.get(cid)
        if state is None or state.last_rollup_at is None:
            first = await dirty.earliest_data(session, cid)
            x = first if first is not None else now
            state = state or KpiRollupState(community_id=cid)
            state.covered_from = x
        else:
            x = min(state.last_rollup_at, touched.get(cid, now))
            state.covered_from = min(state.covered_from or x, x)
            state.last_event_id = marks.get(cid, state.last_event_id)
        if state.last_rollup_at is None:
            state.last_event_id = await _max_event_id(session, cid, now)
        written = await recompute(session, c, x, now, result)
        state.last_rollup_at = now
        session.add(state)
        result.communities += 1
        result.snapshots += written
    await session.flush()
    return result


async def _max_event_id(session: AsyncSession, cid: int, now: datetime) -> int:
    from sqlalchemy import func

    from services.models.tickets import TicketEvent

    e = TicketEvent.__table__  # type: ignore[attr-defined]
    stmt = select(func.max(e.c.id)).where(e.c.community_id == cid, e.c.created_at <= now - dirty.SAFETY)
    return int((await session.exec(stmt)).first() or 0)  # type: ignore[call-overload]


async def recompute(
    session: AsyncSession, c: Community, x: datetime, now: datetime, result: RollupResult
) -> int:
    assert c.id is not None
    tz = zone_of(c)
    frames = {g: closed_after(x, tz, now, g) for g in P.GRANULARITIES}
    frames = {g: ps for g, ps in frames.items() if ps}
    if not frames:
        return 0
    lo = min(P.instant(ps[0].start, tz) for ps in frames.values())
    hi = max(P.instant(ps[-1].end, tz) for ps in frames.values())
    rows: list[dict[str, Any]] = []
    month_cells: list[tuple[str, P.Period, int, int]] = []
    for metric in METRICS:
        facts = await fetch_facts(session, metric, [c.id], lo, hi, now)
        for g, ps in frames.items():
            frame = Frame.build(ps, tz, now)
            for p, (num, den) in zip(ps, bucket(facts, frame, METRICS[metric].quantile), strict=True):
                rows.append(
                    {
                        "scope": "community",
                        "scope_id": c.id,
                        "metric": metric,
                        "granularity": g,
                        "period_start": p.start,
                        "numerator": num,
                        "denominator": den,
                        "value": value_of(num, den, metric),
                        "computed_at": now,
                    }
                )
                if g in ALERT_GRANULARITIES:
                    month_cells.append((metric, p, num, den))
    table = KpiSnapshot.__table__  # type: ignore[attr-defined]
    stmt = insert_for(session)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["scope", "scope_id", "metric", "granularity", "period_start"],
        set_={k: stmt.excluded[k] for k in ("numerator", "denominator", "value", "computed_at")},
    )
    for start in range(0, len(rows), CHUNK * 10):
        await session.execute(stmt, rows[start : start + CHUNK * 10])  # executemany, batched by the driver
    oldest = P.months_before(P.local_date(now, tz), ALERT_RECENT_MONTHS)
    await alert(session, c, [cell for cell in month_cells if cell[1].start >= oldest], result)
    return len(rows)


async def alert(
    session: AsyncSession, c: Community, cells: list[tuple[str, P.Period, int, int]], result: RollupResult
) -> None:
    """Notify the property manager(s) and the community admin once per metric and period below target."""
    assert c.id is not None
    targets = await effective(session, "community", c.id)
    below = [(m, p, n, d) for m, p, n, d in cells if met_of(n, d, targets[m].target, m) is False]
    if not below:
        return
    recipients = await users_with_roles(session, c.id, ALERT_ROLES)
    table = KpiAlert.__table__  # type: ignore[attr-defined]
    for metric, p, num, den in below:
        target = targets[metric].target
        stmt = (
            insert_for(session)(table)
            .values(
                scope="community",
                scope_id=c.id,
                metric=metric,
                granularity=p.granularity,
                period_start=p.start,
                value=value_of(num, den, metric),
                target=Decimal(str(target)),
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(
                index_elements=["scope", "scope_id", "metric", "granularity", "period_start"]
            )
            .returning(table.c.id)
        )
        if (await session.execute(stmt)).first() is None:
            continue  # already notified for this period
        result.alerts += 1
        result.alerted.append((c.id, metric, p.start))
        m = METRICS[metric]
        data = {
            "community": c.name,
            "metric": m.title_zh,
            "metric_en": m.title_en,
            "period": p.label,
            "value": f"{value_of(num, den, metric):.2f}",
            "target": f"{target:.2f}",
            "numerator": num,
            "denominator": den,
            "kpi_metric": metric,
            "kpi_period": p.label,
            "community_id": c.id,
            "unit_zh": "%" if m.unit == "percent" else " 分钟",
            "unit_en": "%" if m.unit == "percent" else " min",
        }
        key = f"kpi:community:{c.id}:{metric}:{p.granularity}:{p.start.isoformat()}"
        template = "kpi.over_limit" if m.better == "lower" else "kpi.below_target"
        await notify(session, recipients, "kpi", template, data, key, community_id=c.id)
