"""The monthly service report as an A4 PDF in Chinese (ReportLab, the bundled Noto Sans SC subset).

One or two pages: heading, the promised KPIs table with formulas, the 12-month trend (matplotlib,
services.kpis.charts), tickets by category, complaints, inspections, duty hours, alarms (when the
month had any), what was done, and the signatures. The text is real text (pdftotext reads it back),
the font embedded as a subset of the glyphs used.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime
from functools import cache
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.kpis import charts
from services.kpis.report import ReportData, by_kind, rate_text, verdict
from services.kpis.service import display_label

FONT = "LinliSC"
_LOCK = threading.Lock()


@cache
def _font() -> str:
    pdfmetrics.registerFont(TTFont(FONT, str(charts.FONT_PATH)))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    f = _font()
    base = ParagraphStyle("base", fontName=f, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=22, alignment=TA_CENTER),
        "sub": ParagraphStyle("sub", parent=base, fontSize=9.5, alignment=TA_CENTER, textColor=colors.HexColor("#444444")),
        "h": ParagraphStyle("h", parent=base, fontSize=11.5, leading=16, spaceBefore=7, spaceAfter=3,
                            textColor=colors.HexColor("#1f4e79")),
        "p": base,
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=10.5, textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
    }  # fmt: skip


def _table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9a9a9a")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")))
    t.setStyle(TableStyle(style))
    return t


def _month_words(d: ReportData) -> str:
    return f"{d.month.start.year}年{d.month.start.month}月"


def render(d: ReportData, generated_at: datetime) -> bytes:
    with _LOCK:  # ReportLab's font registry and matplotlib are process-wide
        return _render(d, generated_at)


def _render(d: ReportData, generated_at: datetime) -> bytes:
    s = _styles()
    story: list[Any] = []
    scope = "物业服务月报" if d.scope == "community" else "物业服务月报（公司汇总）"
    story.append(Paragraph(f"{d.title} {scope}", s["title"]))
    sub = f"统计月份：{_month_words(d)}（{d.month.start.isoformat()} 至 {d.month.last_day.isoformat()}）"
    if d.company and d.scope == "community":
        sub += f"　物业服务企业：{d.company}"
    story.append(Paragraph(sub, s["sub"]))
    if d.as_of is not None:
        story.append(Spacer(1, 3))
        story.append(Paragraph(
            f"本月尚未结束：数据截至 {d.as_of.month}月{d.as_of.day}日，为阶段性数据，不与目标比较。", s["sub"]))  # fmt: skip
    story.append(Spacer(1, 6))

    # 1. The promised KPIs.
    story.append(Paragraph("一、服务承诺指标", s["h"]))
    rows: list[list[Any]] = [["指标", "本月", "分子 / 分母", "目标", "结果", "目标设定"]]
    notes = []
    for series in d.kpis:
        p = series.periods[-1] if series.periods else None
        num, den = (p.numerator, p.denominator) if p else (0, 0)
        value = rate_text(num, den)
        if p is not None and p.few_cases:
            value += f"（{den} 件）"
        rows.append([
            series.title, value, f"{num} / {den}", f"{series.target:g}%",
            verdict(num, den, series.target, bool(p and p.partial)),
            Paragraph(series.definition.target_set_by, s["cell"]),
        ])  # fmt: skip
        notes.append(f"{series.title} = {series.definition.formula}")
    story.append(_table(rows, [3.2 * cm, 2.6 * cm, 2.2 * cm, 1.6 * cm, 1.6 * cm, 6.0 * cm]))
    story.append(Spacer(1, 3))
    story.append(Paragraph("口径：" + "；".join(notes) + "。", s["note"]))
    story.append(Spacer(1, 4))
    png = charts.render_grid(d.kpis)
    story.append(Image(io.BytesIO(png), width=17 * cm, height=9.6 * cm))
    trend = "近 12 个月趋势；红点为未达目标的月份"
    partial = next((p for p in d.kpis[0].periods if p.partial), None) if d.kpis else None
    if partial is not None and partial.as_of is not None:
        trend += f"；空心点为{display_label(partial.period, partial.as_of, None, 'zh-CN')}的阶段性数据"
    story.append(Paragraph(trend + "。", s["note"]))

    # 2. Tickets.
    story.append(Paragraph("二、报修与投诉工单", s["h"]))
    rows = [["类型", "类别", "新增", "完成", "按时完成", "及时率"]]
    kinds = {"repair": "报修", "complaint": "投诉"}
    for kind, cats in by_kind(d.categories).items():
        for r in cats:
            from services.i18n import label

            rows.append([kinds.get(kind, kind), label("ticket.category", r.category) or r.category,
                         r.opened, r.resolved, r.on_time, rate_text(r.on_time, r.resolved)])  # fmt: skip
    if len(rows) == 1:
        rows.append(["—", "本月无工单", 0, 0, 0, "—"])
    story.append(_table(rows, [2 * cm, 4.6 * cm, 2.2 * cm, 2.2 * cm, 2.6 * cm, 3.6 * cm]))
    c = d.complaints
    story.append(Spacer(1, 3))
    story.append(Paragraph(
        f"投诉处理：本月到期投诉 {c.get('due', 0)} 件，其中有效 {c.get('valid', 0)} 件、已处理关闭 "
        f"{c.get('closed', 0)} 件（有效投诉处理率 {rate_text(c.get('closed', 0), c.get('valid', 0))}）；"
        f"核实无效 {c.get('invalid', 0)} 件、撤销 {c.get('cancelled', 0)} 件、未受理 {c.get('rejected', 0)} 件，"
        "不计入处理率。", s["p"]))  # fmt: skip

    # 3. Inspections, duty, alarms.
    story.append(Paragraph("三、巡查、党员责任岗与告警", s["h"]))
    rows = [["巡查类型", "检查项", "合格", "合格率", "不合格转工单"]]
    for kind, n, passed, tickets in d.inspections:
        rows.append([kind, n, passed, rate_text(passed, n), tickets])
    if len(rows) == 1:
        rows.append(["本月无巡查记录", 0, 0, "—", 0])
    story.append(_table(rows, [4.2 * cm, 2.6 * cm, 2.6 * cm, 2.6 * cm, 5.2 * cm]))
    du = d.duty
    story.append(Spacer(1, 3))
    story.append(Paragraph(
        f"党员责任岗：{du.get('members', 0)} 名党员累计服务 {du.get('hours', 0)} 小时；"
        f"本月已结束班次 {du.get('shifts', 0)} 个，到岗 {du.get('attended', 0)} 个"
        f"（到岗率 {rate_text(du.get('attended', 0), du.get('shifts', 0))}）。", s["p"]))  # fmt: skip
    if d.alarms:
        text = "；".join(f"{kind} {n} 起（已处置关闭 {closed} 起）" for kind, n, closed in d.alarms)
        story.append(Paragraph(f"设备告警：{text}。", s["p"]))

    # 4. What was done.
    if d.done:
        story.append(Paragraph("四、本月完成事项（最近完成）", s["h"]))
        rows = [["完成日期", "类别", "事项"]]
        for day, cat, title in d.done:
            rows.append([day.isoformat(), cat, Paragraph(title, s["cell"])])
        story.append(_table(rows, [2.6 * cm, 3.4 * cm, 11.2 * cm]))

    # Company: the ranking.
    if d.ranking:
        story.append(Paragraph("五、各小区排名（按达标项数）", s["h"]))
        head = ["名次", "小区"] + [series.title for series in d.kpis] + ["达标项"]
        rows = [head]
        for i, rank in enumerate(d.ranking, 1):
            cells = [rate_text(p.numerator, p.denominator) if p else "—" for p, _ in rank["cells"].values()]
            rows.append([i, rank["community"], *cells, rank["met"]])
        story.append(_table(rows, [1.2 * cm, 4.0 * cm] + [2.6 * cm] * len(d.kpis) + [1.6 * cm]))

    # Signatures.
    story.append(Spacer(1, 10))
    committee = (
        f"业主委员会（审核）：{d.approved_by}　{d.approved_at.astimezone(d.tz).date().isoformat()}"
        if d.approved_by is not None and d.approved_at is not None
        else "业主委员会（审核）：待审核"
    )
    sign = [[f"物业服务企业（盖章）：{d.company or '—'}", committee],
            [f"编制日期：{generated_at.astimezone(d.tz).date().isoformat()}", ""]]  # fmt: skip
    t = Table(sign, colWidths=[8.6 * cm, 8.6 * cm])
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9.5), ("TOPPADDING", (0, 0), (-1, -1), 4)]))
    story.append(KeepTogether([t]))
    story.append(Spacer(1, 4))
    story.append(Paragraph("本报告由邻里 Linli 根据系统记录生成；各指标口径见上表注释。", s["note"]))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.3 * cm, bottomMargin=1.3 * cm,
        title=f"{d.title} 物业服务月报 {_month_words(d)}", author="Linli", invariant=1,
    )  # fmt: skip
    doc.build(story)
    return buf.getvalue()
