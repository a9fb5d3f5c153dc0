"""Exports of a KPI table: CSV (UTF-8 with BOM so Excel reads the Chinese titles) and an SVG chart
of one metric over time with its target line, for printing on the noticeboard.

The chart is a small hand-written SVG rather than matplotlib: text stays text (the viewer's CJK
fonts render the Chinese titles; matplotlib would need a CJK font installed on every server and
shows boxes without one), the file is a few kilobytes, and it costs no dependency (~numpy).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from html import escape

from services.kpis import service
from services.kpis.schemas import KpiSeries, KpiTable
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
                ]
            )
    return buf.getvalue()


W, H = 900, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 60, 70


def to_svg(series: KpiSeries, heading: str) -> str:
    """A line of the metric's values (gaps where there is no data), dots red below target, and a
    dashed target line (id="target-line")."""
    values = [p.value for p in series.periods]
    known = [v for v in values if v is not None]
    floor_ = min([*known, series.target, 100.0])
    lo = max(0.0, (int(floor_) // 10) * 10 - (10 if floor_ % 10 < 2 else 0))
    hi = 100.0
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = max(1, len(values))

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (hi - v) / (hi - lo if hi > lo else 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif">',
        f'<rect width="{W}" height="{H}" fill="#ffffff"/>',
        f'<text x="{W / 2}" y="30" font-size="20" text-anchor="middle">{escape(heading)}</text>',
    ]
    for k in range(6):  # horizontal grid and y labels
        v = lo + (hi - lo) * k / 5
        out.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{W - RIGHT}" y2="{y(v):.1f}" stroke="#e0e0e0"/>')
        out.append(
            f'<text x="{LEFT - 8}" y="{y(v) + 4:.1f}" font-size="12" text-anchor="end">{v:.0f}%</text>'
        )
    step = max(1, n // 12)
    for i, p in enumerate(series.periods):
        if i % step == 0:
            out.append(
                f'<text x="{x(i):.1f}" y="{H - BOTTOM + 20}" font-size="12" text-anchor="middle">{escape(p.period)}</text>'
            )
    t = series.target
    out.append(
        f'<line id="target-line" x1="{LEFT}" y1="{y(t):.1f}" x2="{W - RIGHT}" y2="{y(t):.1f}" '
        f'stroke="#d62728" stroke-width="2" stroke-dasharray="8 5"><title>target {t:.2f}%</title></line>'
    )
    out.append(
        f'<text x="{W - RIGHT}" y="{y(t) - 6:.1f}" font-size="12" fill="#d62728" text-anchor="end">目标 Target {t:.2f}%</text>'
    )
    run: list[str] = []
    for i, val in enumerate([*values, None]):
        if val is not None:
            run.append(f"{x(i):.1f},{y(val):.1f}")
        elif run:
            out.append(
                f'<polyline class="value-line" points="{" ".join(run)}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
            )
            run = []
    for i, p in enumerate(series.periods):
        if p.value is None:
            continue
        color = "#d62728" if p.met is False else "#1f77b4"
        out.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="4" fill="{color}">'
            f"<title>{escape(p.period)}: {p.value:.2f}% ({p.numerator}/{p.denominator})</title></circle>"
        )
    out.append(
        f'<text x="{LEFT}" y="{H - 20}" font-size="12" fill="#555">'
        f"{escape(series.title)} = numerator / denominator × 100%; red dots: below target</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


async def community_csv(ctx: Ctx, cid: int, q: Query) -> str:
    return to_csv(await service.community_kpis(ctx, cid, q))


async def company_csv(ctx: Ctx, company_id: int, q: Query) -> str:
    return to_csv(await service.company_kpis(ctx, company_id, q))


def _chart(table: KpiTable, name: str) -> str:
    series = table.metrics[0]
    first, last = table.from_.isoformat(), table.to.isoformat()
    return to_svg(series, f"{name} · {series.title} ({first} – {last})")


async def community_chart(ctx: Ctx, cid: int, metric: str, q: Query) -> str:
    table = await service.community_kpis(ctx, cid, replace(q, metrics=[metric]))
    c = await ctx.session.get(Community, cid)
    return _chart(table, c.name if c else str(cid))


async def company_chart(ctx: Ctx, company_id: int, metric: str, q: Query) -> str:
    table = await service.company_kpis(ctx, company_id, replace(q, metrics=[metric]))
    co = await ctx.session.get(PropertyCompany, company_id)
    return _chart(table, co.name if co else str(company_id))
