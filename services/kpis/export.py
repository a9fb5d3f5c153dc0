"""Exports of a KPI table: CSV (UTF-8 with BOM so Excel reads the Chinese titles) and a chart of
one metric over time with its target line (PNG or SVG, services.kpis.charts), for the noticeboard.

Every CSV row carries `partial` (the current period, figures so far), `as_of` and the metric's
`formula` from the catalogue, so a spreadsheet read months later still says what was counted.
The chart is drawn with the bundled CJK font (services/fonts), in a worker thread.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace

from services.kpis import charts, service
from services.kpis.schemas import KpiTable
from services.kpis.service import Query
from services.models import Community, PropertyCompany
from services.runtime import Ctx

CSV_COLUMNS = (
    "scope",
    "scope_id",
    "metric",
    "title",
    "period",
    "starts_on",
    "ends_on",
    "numerator",
    "denominator",
    "value",
    "target",
    "met",
    "source",
    "partial",
    "as_of",
    "formula",
)


def to_csv(table: KpiTable) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for s in table.metrics:
        for p in s.periods:
            w.writerow(
                [
                    table.scope,
                    table.scope_id,
                    s.metric,
                    s.title,
                    p.period,
                    p.starts_on.isoformat(),
                    p.ends_on.isoformat(),
                    p.numerator,
                    p.denominator,
                    "" if p.value is None else f"{p.value:.2f}",
                    f"{s.target:.2f}",
                    "" if p.met is None else ("yes" if p.met else "no"),
                    p.source,
                    "yes" if p.partial else "no",
                    "" if p.as_of is None else p.as_of.isoformat(),
                    s.definition.formula,
                ]
            )
    return buf.getvalue()


async def community_csv(ctx: Ctx, cid: int, q: Query, head: service.CommunityHead | None = None) -> str:
    return to_csv(await service.community_kpis(ctx, cid, q, head=head))


async def company_csv(ctx: Ctx, company_id: int, q: Query) -> str:
    return to_csv(await service.company_kpis(ctx, company_id, q))


def heading(table: KpiTable, name: str) -> str:
    series = table.metrics[0]
    first, last = table.from_.isoformat(), table.to.isoformat()
    return f"{name} · {series.title}（{first} 至 {last}）"


async def _chart(table: KpiTable, name: str, fmt: charts.Fmt, locale: str) -> bytes:
    series = table.metrics[0]
    return await asyncio.to_thread(
        charts.render, series, heading(table, name), table.granularity, fmt, locale
    )


async def community_chart(ctx: Ctx, cid: int, metric: str, q: Query, fmt: charts.Fmt = "svg") -> bytes:
    table = await service.community_kpis(ctx, cid, replace(q, metrics=[metric]))
    c = await ctx.session.get(Community, cid)
    return await _chart(table, c.name if c else str(cid), fmt, ctx.locale)


async def company_chart(ctx: Ctx, company_id: int, metric: str, q: Query, fmt: charts.Fmt = "svg") -> bytes:
    table = await service.company_kpis(ctx, company_id, replace(q, metrics=[metric]))
    co = await ctx.session.get(PropertyCompany, company_id)
    return await _chart(table, co.name if co else str(company_id), fmt, ctx.locale)
