"""The static map for reports (一张图, item 5): the map layer drawn without tiles — outlines, points,
the KPI colour of each community, a legend and Chinese labels in the bundled CJK font (no tofu boxes).

PNG or SVG (text as paths, so the SVG needs no font either). Drawn in the coordinates of the layer it is
given (WGS-84 by default), longitudes squeezed by cos(latitude) so the district is not stretched.
"""

from __future__ import annotations

import io
import math
from typing import Any, Literal, cast

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from services.geo.schemas import FeatureCollection
from services.kpis import charts

Fmt = Literal["png", "svg"]
MEDIA = charts.MEDIA
# The layer's worst KPI colour → fill, edge.
COLOURS = {
    "green": ("#4caf50", "#2e7d32"),
    "amber": ("#ffb300", "#c68400"),
    "red": ("#e53935", "#b71c1c"),
    "grey": ("#9e9e9e", "#616161"),
}
LEGEND = {
    "zh-CN": {
        "green": "上月指标全部达标",
        "amber": "部分达标、部分无数据",
        "red": "有指标未达标",
        "grey": "无数据",
        "title": "小区一张图（按上月指标着色）",
        "empty": "范围内没有可见的小区",
        "alarms": "有未处理告警",
    },
    "en": {
        "green": "All KPIs met last month",
        "amber": "Some met, some without data",
        "red": "A KPI missed",
        "grey": "No data",
        "title": "Communities (coloured by last month's KPIs)",
        "empty": "No visible community in range",
        "alarms": "Active alarms",
    },
}


def texts(locale: str) -> dict[str, str]:
    return LEGEND["en" if locale == "en" else "zh-CN"]


def labels(fc: FeatureCollection, locale: str = "zh-CN") -> list[str]:
    """Every string the image draws (the test checks each glyph is in the font)."""
    t = texts(locale)
    return [str(f["properties"]["name"]) for f in fc.features] + list(t.values())


def _colour(feature: dict[str, Any]) -> str:
    kpi = feature["properties"].get("kpi") or {}
    colour = kpi.get("colour", "grey")
    return colour if colour in COLOURS else "grey"


def _point(feature: dict[str, Any]) -> tuple[float, float] | None:
    point = feature["properties"].get("point") or feature.get("geometry")
    if point and point.get("type") == "Point":
        lon, lat = point["coordinates"]
        return float(lon), float(lat)
    return None


def render(fc: FeatureCollection, fmt: Fmt, locale: str = "zh-CN", title: str | None = None) -> bytes:
    """1000 × 800 px (PNG at 100 dpi) or the same size as SVG."""
    import matplotlib as mpl

    t = texts(locale)
    with charts._LOCK, mpl.rc_context(cast(Any, charts._rc())):
        fig = Figure(figsize=(10, 8))
        ax = fig.add_axes((0.03, 0.1, 0.94, 0.82))
        ax.set_axis_off()
        fig.text(0.5, 0.955, title or t["title"], ha="center", va="center", fontsize=15)
        lats = [p[1] for f in fc.features if (p := _point(f)) is not None]
        if lats:
            ax.set_aspect(1 / math.cos(math.radians(sum(lats) / len(lats))), adjustable="datalim")
        else:
            ax.text(0.5, 0.5, t["empty"], ha="center", va="center", fontsize=12, color="#555555",
                    transform=ax.transAxes)  # fmt: skip
        for f in fc.features:
            fill, edge = COLOURS[_colour(f)]
            geometry = f.get("geometry") or {}
            if geometry.get("type") == "Polygon":
                ring = geometry["coordinates"][0]
                ax.add_patch(Polygon(ring, closed=True, facecolor=fill, edgecolor=edge, alpha=0.45, lw=1.2))
                ax.update_datalim(ring)
            point = _point(f)
            if point is None:
                continue
            ax.update_datalim([point])
            alarms = (f["properties"].get("alarms") or {}).get("active", 0)
            ax.plot(*point, marker="o", ms=7, color=edge, mec="#b71c1c" if alarms else "white",
                    mew=2.2 if alarms else 1)  # fmt: skip
            ax.annotate(str(f["properties"]["name"]), point, xytext=(0, 7), textcoords="offset points",
                        ha="center", va="bottom", fontsize=9, color="#222222")  # fmt: skip
        ax.autoscale_view()
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        pad_x, pad_y = max((x1 - x0) * 0.06, 0.002), max((y1 - y0) * 0.06, 0.002)
        ax.set_xlim(x0 - pad_x, x1 + pad_x)
        ax.set_ylim(y0 - pad_y, y1 + pad_y)
        handles: list[Any] = [
            Patch(facecolor=COLOURS[k][0], edgecolor=COLOURS[k][1], alpha=0.6, label=t[k]) for k in COLOURS
        ]
        handles.append(Line2D([], [], marker="o", ls="", color="#616161", mec="#b71c1c", mew=2.2,
                              label=t["alarms"]))  # fmt: skip
        fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=9, frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else {})
        return buf.getvalue()
