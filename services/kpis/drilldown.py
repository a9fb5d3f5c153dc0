"""The rows behind a figure: which tickets (items, notices, shifts) make one period's numerator,
denominator, or were excluded — computed by the same facts and frame as the figure itself."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from services.errors import InvalidInput
from services.kpis import periods as P
from services.kpis.compute import fetch_facts
from services.kpis.facts import Frame, nearest_rank, period_samples, roles_in_period
from services.kpis.metrics import METRICS
from services.kpis.schemas import CommunityFigure, CompanyDrill, DrillPage, DrillRow
from services.kpis.service import DRILL_READERS, load_community, zone_of
from services.kpis.targets import check_metrics
from services.models import utcnow
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx

Part = Literal["numerator", "denominator", "excluded"]


async def drilldown(
    ctx: Ctx,
    cid: int,
    metric: str,
    period: str,
    part: str,
    limit: int,
    cursor: str | None,
    now: datetime | None = None,
) -> DrillPage:
    check_metrics([metric])
    if part not in get_args(Part):
        raise InvalidInput("kpi.invalid_part", details={"part": part})
    p = P.parse_label(period)
    after = id_after(cursor)
    c = await load_community(ctx, cid, DRILL_READERS)
    now = now or utcnow()
    tz = zone_of(c)
    lo, hi = p.bounds(tz)
    rows: list[DrillRow] = []
    if lo <= now:
        frame = Frame.build([p], tz, now)
        facts = await fetch_facts(ctx.session, metric, [cid], lo, min(hi, now), now)
        q = METRICS[metric].quantile
        samples = period_samples(facts, frame)[0] if q is not None else []
        # A quantile metric: the denominator is every sample, the numerator those within the quantile.
        limit_s = nearest_rank(samples, q) if q is not None and samples else None
        for fact in facts:
            num, den, excluded = roles_in_period(fact, frame, 0)
            if q is not None:
                num = den and limit_s is not None and fact.sample is not None and fact.sample <= limit_s
            keep = {"numerator": num, "denominator": den, "excluded": excluded}[part]
            if keep and (after is None or fact.ref_id < after):
                rows.append(
                    DrillRow(
                        ref=METRICS[metric].ref,
                        id=fact.ref_id,
                        community_id=fact.community_id,
                        numerator=num,
                        denominator=den,
                        excluded=fact.excluded,
                        detail=fact.info,
                    )
                )
    rows.sort(key=lambda r: r.id, reverse=True)
    page = rows[:limit]
    return DrillPage(
        metric=metric,
        period=p.label,
        part=part,
        items=page,
        next_cursor=next_id_cursor([r.id for r in page], limit) if len(rows) > limit else None,
    )


async def company_communities(
    ctx: Ctx, company_id: int, metric: str, period: str, now: datetime | None = None
) -> CompanyDrill:
    """One period of a company metric per community it managed then (each in its own zone), worst
    first, each with the path of its ticket drill-down. Company readers only."""
    from sqlmodel import col, select

    from services.kpis.compute import figures
    from services.kpis.service import (
        COMPANY_READERS,
        Clock,
        contracts,
        definition_of,
        display_label,
        met_of,
        require_company_reader,
        value_of,
    )
    from services.kpis.targets import effective
    from services.models import Community

    await require_company_reader(ctx, company_id, COMPANY_READERS)
    check_metrics([metric])
    p = P.parse_label(period)
    now = now or utcnow()
    cids = sorted(
        {
            cid
            for cid, s, e in await contracts(ctx.session, company_id)
            if s <= p.last_day and (e is None or e >= p.start)
        }
    )
    rows = (
        (
            await ctx.session.exec(
                select(Community).where(col(Community.id).in_(cids), col(Community.deleted_at).is_(None))
            )
        ).all()
        if cids
        else []
    )
    zones = {c.id: zone_of(c) for c in rows if c.id is not None}
    _, cells = await figures(ctx.session, zones, [metric], p.granularity, p.start, p.last_day, now)
    target = (await effective(ctx.session, "company", company_id))[metric]
    items = []
    for c in rows:
        assert c.id is not None
        cell = cells.get((c.id, metric, p.start))
        num, den = (cell.numerator, cell.denominator) if cell else (0, 0)
        as_of = Clock(now, (zones[c.id],), 0).as_of(p)
        items.append(
            CommunityFigure(
                community_id=c.id,
                name=c.name,
                numerator=num,
                denominator=den,
                value=value_of(num, den),
                met=None if as_of is not None else met_of(num, den, target.target),
                partial=as_of is not None,
                label=display_label(p.label, as_of, None, ctx.locale),
                tickets=f"/v1/communities/{c.id}/kpis/{metric}/tickets?period={p.label}",
            )
        )
    items.sort(key=lambda i: (i.value is None, i.value if i.value is not None else 0.0, i.name))
    m = METRICS[metric]
    return CompanyDrill(
        metric=metric,
        title=m.title_en if ctx.locale == "en" else m.title_zh,
        period=p.label,
        target=target.target,
        definition=definition_of(metric, target.source, ctx.locale),
        items=items,
    )
