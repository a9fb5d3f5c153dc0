"""Prioritisation for the annual plan, and aftercare's before-vs-after KPIs.

Scoring: each factor is normalised to 0..1 and weighted by the housing bureau's weights (sent with the
request: the bureau re-weighs between years, so they are an input, not a stored setting):
  building_age        (this year − built_year) / 50, capped at 1 (unknown: 0)
  facilities_missing  the bureau's count of missing facilities / 10, capped (assessed on site)
  elderly_share       share of residents aged 60+ (0..1, from the bureau's census figures)
  ticket_load         tickets filed in the last 365 days per household / 5, capped
  willingness         households that answered the needs survey (问需) of the community's newest
                      project / all households
The score is Σ weight × factor over Σ weight × 100; the ranked list shows every term.

Aftercare: the existing KPI metrics' point facts (repair timeliness, owner satisfaction) in the
`months` before construction began (the first milestone's planned date) against the same span from
the start of aftercare. Span facts ("open and past due") are left out: a before/after comparison of
finished work only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from services.access import require_community, require_platform_admin
from services.errors import Conflict
from services.kpis.compute import fetch_facts
from services.models import Community, Household, Ticket
from services.models.base import utcnow
from services.models.polls import Poll
from services.models.renovation import Milestone, RenovationProject
from services.renovation.common import LEDGER_READERS, load_project
from services.renovation.schemas_planning import (
    AftercareOut,
    Candidate,
    KpiCompare,
    PriorityIn,
    PriorityOut,
    PriorityRow,
)
from services.runtime import Ctx

FACTORS = ("building_age", "facilities_missing", "elderly_share", "ticket_load", "willingness")
AFTERCARE_METRICS = ("repair_timeliness", "owner_satisfaction")


def _cap(x: float) -> float:
    return round(max(0.0, min(1.0, x)), 4)


async def rank(ctx: Ctx, body: PriorityIn) -> PriorityOut:
    require_platform_admin(ctx.require_principal())  # the housing bureau works on the platform
    s = ctx.session
    now = utcnow()
    by_id: dict[int, Candidate] = {c.community_id: c for c in body.candidates}
    ids = sorted(by_id)
    communities = {c.id: c for c in (await s.exec(select(Community).where(col(Community.id).in_(ids)))).all()}
    homes = dict(
        (
            await s.exec(
                select(Household.community_id, sa.func.count())
                .where(col(Household.community_id).in_(ids))
                .group_by(col(Household.community_id))
            )
        ).all()
    )
    tickets = dict(
        (
            await s.exec(
                select(Ticket.community_id, sa.func.count())
                .where(col(Ticket.community_id).in_(ids), col(Ticket.created_at) >= now - timedelta(days=365))
                .group_by(col(Ticket.community_id))
            )
        ).all()
    )
    newest: dict[int, int | None] = {}
    for cid, poll_id in (
        await s.exec(
            select(RenovationProject.community_id, RenovationProject.needs_poll_id)
            .where(col(RenovationProject.community_id).in_(ids))
            .order_by(col(RenovationProject.year), col(RenovationProject.id))
        )
    ).all():
        newest[cid] = poll_id  # the last row per community wins: its newest project
    answered: dict[int, int] = {}
    poll_ids = [p for p in newest.values() if p]
    if poll_ids:
        for poll_id, count in (
            await s.exec(select(Poll.id, Poll.ballot_count).where(col(Poll.id).in_(poll_ids)))
        ).all():
            answered[poll_id or 0] = count
    weights = body.weights.model_dump()
    total_weight = sum(weights.values()) or 1
    rows: list[PriorityRow] = []
    for cid in ids:
        c = communities.get(cid)
        if c is None:
            continue
        n_homes = int(homes.get(cid, 0))
        poll_id = newest.get(cid)
        factors = {
            "building_age": _cap((now.year - c.built_year) / 50) if c.built_year else 0.0,
            "facilities_missing": _cap(by_id[cid].facilities_missing / 10),
            "elderly_share": _cap(by_id[cid].elderly_share),
            "ticket_load": _cap(int(tickets.get(cid, 0)) / n_homes / 5) if n_homes else 0.0,
            "willingness": _cap(answered.get(poll_id or 0, 0) / n_homes) if n_homes and poll_id else 0.0,
        }
        terms = {k: round(100 * weights[k] * v / total_weight, 2) for k, v in factors.items()}
        rows.append(
            PriorityRow(
                community_id=cid,
                name=c.name,
                score=round(sum(terms.values()), 2),
                factors=factors,
                weighted=terms,
            )
        )
    rows.sort(key=lambda r: (-r.score, r.community_id))
    for i, r in enumerate(rows, start=1):
        r.rank = i
    return PriorityOut(weights=body.weights, items=rows)


def _ratio(num: int, den: int) -> float | None:
    return round(100 * num / den, 1) if den else None


async def aftercare(ctx: Ctx, project_id: int, months: int) -> AftercareOut:
    p = await load_project(ctx, project_id)
    require_community(ctx.require_principal(), p.community_id, LEDGER_READERS)
    if p.aftercare_starts_on is None:
        raise Conflict("renovation.phase_invalid", details={"status": p.status})
    first = (
        await ctx.session.exec(select(sa.func.min(Milestone.planned_on)).where(Milestone.project_id == p.id))
    ).one()
    began: date = first or p.aftercare_starts_on
    span = timedelta(days=round(months * 30.4))
    now = utcnow()

    def at(d: date) -> datetime:
        return datetime.combine(d, time(), UTC)

    windows = {
        "before": (at(began) - span, at(began)),
        "after": (at(p.aftercare_starts_on), min(now, at(p.aftercare_starts_on) + span)),
    }
    out: list[KpiCompare] = []
    for metric in AFTERCARE_METRICS:
        values: dict[str, tuple[int, int]] = {}
        for name, (lo, hi) in windows.items():
            facts = await fetch_facts(ctx.session, metric, [p.community_id], lo, hi, now)
            points = [x for x in facts if x.at is not None and x.excluded is None and lo <= x.at < hi]
            values[name] = (sum(x.num for x in points), sum(x.den for x in points))
        out.append(
            KpiCompare(
                metric=metric,
                before_num=values["before"][0],
                before_den=values["before"][1],
                before=_ratio(*values["before"]),
                after_num=values["after"][0],
                after_den=values["after"][1],
                after=_ratio(*values["after"]),
            )
        )
    return AftercareOut(
        project_id=p.id or 0,
        construction_began_on=began,
        aftercare_starts_on=p.aftercare_starts_on,
        months=months,
        metrics=out,
    )
