"""KPI charts as PNG or SVG (matplotlib, Agg, no pyplot state), drawn with the bundled CJK font.

Each chart has its heading, axis titles, a data label on every point (with the count when a period
has fewer cases than the minimum), the target as a dashed red line (gid "target-line"), and a
footnote stating the metric's formula from services.kpis.catalogue and who set the target. The
current, unfinished period is a hollow grey point on a dotted segment and never red: it is not
compared with the target. Closed periods below target are red dots.

The font is services/fonts/NotoSansSC-Linli.ttf (a subset of Noto Sans CJK SC; build_subset.py makes
it), so a server needs no CJK font installed and a chart never shows boxes. SVG text is drawn as
paths with the same glyphs, so it prints the same everywhere.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from services.kpis.schemas import KpiSeries

FONT_PATH = Path(__file__).resolve().parents[1] / "fonts" / "NotoSansSC-Linli.ttf"
Fmt = Literal["png", "svg"]
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
BLUE, RED, GREY = "#1f77b4", "#d62728", "#8c8c8c"
_LOCK = threading.Lock()  # matplotlib's text and font caches are not thread-safe


@cache
def family() -> str:
    font_manager.fontManager.addfont(str(FONT_PATH))
    return str(font_manager.FontProperties(fname=str(FONT_PATH)).get_name())


@cache
def glyphs() -> frozenset[str]:
    """Every character the bundled font draws."""
    return frozenset(chr(c) for c in FT2Font(str(FONT_PATH)).get_charmap())


def missing_glyphs(text: str) -> set[str]:
    return {ch for ch in text if not ch.isspace() and ch not in glyphs()}


RC = {
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.unicode_minus": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "linli",
}


def _rc() -> dict[str, Any]:
    return {**RC, "font.sans-serif": [family()]}


def _minutes(series: KpiSeries) -> bool:
    return series.unit == "minutes"


def fmt_value(series: KpiSeries, value: float, locale: str) -> str:
    """ "97.5%" for a share; "4.2 分钟" / "4.2 min" for a time (the alarm acknowledgement metrics)."""
    if _minutes(series):
        return f"{value:g} min" if locale == "en" else f"{value:g} 分钟"
    return f"{value:g}%"


def target_text(series: KpiSeries, locale: str) -> str:
    """ "目标 95%"; a lower-is-better target is a ceiling: "上限 5 分钟" / "at most 5 min"."""
    value = fmt_value(series, series.target, locale)
    if series.better == "lower":
        return f"at most {value}" if locale == "en" else f"上限 {value}"
    return f"Target {value}" if locale == "en" else f"目标 {value}"


def footnote(series: KpiSeries, locale: str) -> str:
    d = series.definition
    partial = next((p for p in series.periods if p.partial), None)
    few = any(p.few_cases for p in series.periods)
    if locale == "en":
        parts = [f"Formula: {d.formula}.", f"{target_text(series, locale)}: {d.target_set_by}."]
        if partial is not None and partial.as_of is not None:
            parts.append(
                f"Hollow point: {partial.period} is not over (to {partial.as_of.isoformat()}), "
                "not compared with the target."
            )
        if few:
            parts.append(f"(n/m): fewer than {series.min_cases} cases.")
        parts.append("Red: target missed.")
        return " ".join(parts)
    parts = [f"口径：{series.title} = {d.formula}。", f"{target_text(series, locale)}：{d.target_set_by}。"]
    if partial is not None and partial.as_of is not None:
        parts.append(
            f"空心点：{partial.period} 尚未结束（截至 {partial.as_of.month}月{partial.as_of.day}日），不与目标比较。"
        )
    if few:
        parts.append(f"括号内为件数：样本少于 {series.min_cases} 件。")
    parts.append("红点：未达目标。")
    return "".join(parts)


def wrap(text: str, width: int) -> str:
    """Break at `width` columns, a CJK character counting two (matplotlib wraps only at spaces)."""
    lines, line, used = [], "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += w
    return "\n".join([*lines, line])


def _draw(ax: Any, series: KpiSeries, locale: str, *, compact: bool = False) -> None:
    periods = series.periods
    xs = list(range(len(periods)))
    ticks = [p.period[2:] if compact and len(p.period) == 7 else p.period for p in periods]
    known = [p.value for p in periods if p.value is not None]
    if _minutes(series):  # a time from 0 up, with room above the highest point for its label
        ax.set_ylim(0, max([*known, series.target, 1.0]) * 1.3)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(6))
    else:
        lo = min([*known, series.target, 100.0])
        bottom = max(0.0, (int(lo) // 10) * 10 - 10)
        ax.set_ylim(bottom, 108)
        step = 5 if 100 - bottom <= 30 else 10
        ax.set_yticks(list(range(int(bottom), 101, step)))
    ax.set_xlim(-0.5, max(len(periods) - 0.5, 0.5))
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    target = ax.axhline(series.target, color=RED, linestyle="--", linewidth=1.4)
    target.set_gid("target-line")
    ax.annotate(
        target_text(series, locale),
        xy=(1, series.target),
        xycoords=("axes fraction", "data"),
        xytext=(-2, 3),
        textcoords="offset points",
        ha="right",
        va="bottom",
        color=RED,
        fontsize=8 if compact else 9,
    )
    closed = [(x, p) for x, p in zip(xs, periods, strict=True) if not p.partial]
    run: list[tuple[int, float]] = []
    for x, p in [*closed, (None, None)]:
        if p is not None and p.value is not None and x is not None:
            run.append((x, p.value))
            continue
        if run:
            ax.plot([a for a, _ in run], [b for _, b in run], color=BLUE, linewidth=1.8, zorder=2)
            run = []
    for x, p in zip(xs, periods, strict=True):
        if p.value is None:
            continue
        if p.partial:
            prev = next((i for i in range(x - 1, -1, -1) if periods[i].value is not None), None)
            before = periods[prev].value if prev is not None else None
            if prev is not None and before is not None:
                ax.plot([prev, x], [before, p.value], color=GREY, linestyle=":", linewidth=1.6, zorder=2)
            ax.plot([x], [p.value], marker="o", markersize=7, markerfacecolor="white",
                    markeredgecolor=GREY, markeredgewidth=1.6, linestyle="none", zorder=3)  # fmt: skip
        else:
            color = RED if p.met is False else BLUE
            ax.plot([x], [p.value], marker="o", markersize=6, color=color, linestyle="none", zorder=3)
        if compact and not (p.met is False or p.partial or x == len(periods) - 1):
            continue  # small panels: label only what a reader looks for (below target, the latest)
        text = fmt_value(series, p.value, locale)
        if p.few_cases:
            text += f"\n({p.numerator}/{p.denominator})"
        ax.annotate(text, (x, p.value), xytext=(0, 6), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7 if compact else 8, color=GREY if p.partial else "#333333")  # fmt: skip
    every = max(1, len(periods) // (6 if compact else 12))
    ax.set_xticks(xs[::every], ticks[::every], fontsize=7 if compact else 9)
    ax.tick_params(axis="y", labelsize=7 if compact else 9)
    unit = "" if _minutes(series) else "%"
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}{unit}"))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _save(fig: Figure, fmt: Fmt, dpi: int) -> bytes:
    buf = io.BytesIO()
    meta = {"Date": None} if fmt == "svg" else {}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def axis_titles(series: KpiSeries, granularity: str, locale: str) -> tuple[str, str]:
    if locale == "en":
        return f"Period ({granularity})", f"{series.title} ({'min' if _minutes(series) else '%'})"
    names = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年"}
    unit = "分钟" if _minutes(series) else "%"
    return f"统计周期（{names.get(granularity, granularity)}）", f"{series.title}（{unit}）"


def render(series: KpiSeries, heading: str, granularity: str, fmt: Fmt, locale: str = "zh-CN") -> bytes:
    """One metric over time: 900 × 460 px (PNG at 100 dpi) or the same size as SVG."""
    import matplotlib as mpl

    with _LOCK, mpl.rc_context(cast(Any, _rc())):
        fig = Figure(figsize=(9, 4.6))
        ax = fig.add_axes((0.08, 0.25, 0.9, 0.64))
        _draw(ax, series, locale)
        fig.text(0.5, 0.955, heading, ha="center", va="center", fontsize=14)
        x_title, y_title = axis_titles(series, granularity, locale)
        ax.set_xlabel(x_title, fontsize=9)
        ax.set_ylabel(y_title, fontsize=9)
        fig.text(0.02, 0.02, wrap(footnote(series, locale), 150), ha="left", va="bottom", fontsize=8,
                 color="#555555", linespacing=1.4)  # fmt: skip
        return _save(fig, fmt, 100)


def render_grid(panels: Sequence[KpiSeries], locale: str = "zh-CN", dpi: int = 150) -> bytes:
    """The report's trend: up to four metrics in a 2 × 2 grid, PNG, 17 × 9.6 cm."""
    import matplotlib as mpl

    with _LOCK, mpl.rc_context(cast(Any, _rc())):
        fig = Figure(figsize=(6.7, 3.8))
        for i, series in enumerate(panels[:4]):
            ax = fig.add_subplot(2, 2, i + 1)
            _draw(ax, series, locale, compact=True)
            ax.set_title(f"{series.title}（{target_text(series, locale)}）" if locale != "en"
                         else f"{series.title} ({target_text(series, locale)})", fontsize=9)  # fmt: skip
        fig.subplots_adjust(left=0.07, right=0.99, top=0.92, bottom=0.08, hspace=0.55, wspace=0.18)
        return _save(fig, "png", dpi)
