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
from services.kpis.schemas import DrillPage, DrillRow
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
