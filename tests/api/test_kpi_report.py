"""Readable KPIs over HTTP: formulas from the catalogue in JSON, CSV and charts; the unfinished month
marked partial and never judged; PNG/SVG charts whose text the bundled font draws (no boxes); the
monthly service report as a Chinese A4 PDF (read back with pdftotext, pages kept as PNG artifacts
under var/test-artifacts/), approved and posted as a notice by the committee; access rules."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis import charts
from services.kpis.metrics import METRICS
from services.kpis.schemas import KpiSeries
from services.models import AuditLog
from services.models.attachments import Attachment
from services.models.kpis import MonthlyReport
from services.models.notices import Notice
from services.models.tickets import Inspection, InspectionItem, Ticket
from services.tickets.schemas import TransitionIn
from services.tickets.service import open_ticket
from services.tickets.transitions import Call, apply
from tests import factories as f

# Two days into December (Beijing): December is the partial month.
pytestmark = pytest.mark.at("2026-12-02T10:00:00+08:00")

BJ = ZoneInfo("Asia/Shanghai")
RANGE = {"from": "2026-09-01", "to": "2026-12-02", "granularity": "month"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "kpi-report"


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ).astimezone(UTC)  # type: ignore[misc]


async def _repair(
    db: AsyncSession, w: f.TicketWorld, ctx: object, created: datetime, hours: int | None
) -> Ticket:
    t = await open_ticket(ctx, community_id=w.cid, kind="repair", category="plumbing", priority="normal",  # type: ignore[arg-type]
                          title="3号楼水管漏水", description="", reporter_id=w.resident.id or 0,
                          intake_channel="app", household=w.household, now=created)  # fmt: skip
    assert t.id is not None
    if hours is None:
        return t
    await f._after_photo(db, w, t.id)
    for action in ("assign", "start", "resolve"):
        at = created + (timedelta(hours=hours) if action == "resolve" else timedelta(minutes=10))
        body = TransitionIn(action=action, version=t.version, note="修好了", assignee_id=w.technician.id)  # type: ignore[arg-type]
        await apply(Call(db, ctx, t, body, at, w.manager.id), action)  # type: ignore[arg-type]
    return t


async def _world(db: AsyncSession) -> f.TicketWorld:
    """October: a repair on time and a late one, a greening inspection (one item failed); December:
    one repair on time so far."""
    w = await f.ticket_world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    await _repair(db, w, ctx, bj(2026, 10, 9, 10), 24)
    await _repair(db, w, ctx, bj(2026, 10, 12, 9), 60)
    await _repair(db, w, ctx, bj(2026, 12, 1, 9), 5)
    ins = Inspection(community_id=w.cid, kind="greening", area="中心绿地", inspector_id=w.technician.id or 0,
                     inspected_at=bj(2026, 10, 20, 9), created_at=bj(2026, 10, 20, 9))  # fmt: skip
    db.add(ins)
    await db.flush()
    for name, passed in (("草坪修剪", True), ("乔木修枝", True), ("绿篱整形", False)):
        db.add(InspectionItem(inspection_id=ins.id or 0, community_id=w.cid, kind="greening", name=name,
                              passed=passed, created_at=bj(2026, 10, 20, 9)))  # fmt: skip
    await db.flush()
    return w


def _series(body: dict[str, object], metric: str) -> dict[str, object]:
    return next(s for s in body["metrics"] if s["metric"] == metric)  # type: ignore[attr-defined, index]


def pdf_text(pdf: bytes, name: str) -> tuple[str, int]:
    """The PDF's text (pdftotext) and its page count; each page kept as a PNG artifact (pdftoppm)."""
    pdftotext, pdftoppm = shutil.which("pdftotext"), shutil.which("pdftoppm")
    assert pdftotext and pdftoppm, "poppler-utils is required (.ci/run installs it)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([pdftotext, "-layout", str(path), "-"], check=True, capture_output=True, text=True)  # noqa: S603
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run([pdftoppm, "-png", "-r", "60", str(path), str(ARTIFACTS / name)], check=True)  # noqa: S603
    text = out.stdout
    pages = len(list(ARTIFACTS.glob(f"{name}-*.png")))
    return text, pages


async def test_formulas_and_partial_month_in_json_and_csv(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    url = f"/v1/communities/{w.cid}/kpis"
    r = await client.get(url, params=RANGE, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    repair = _series(r.json(), "repair_timeliness")
    d = repair["definition"]
    assert d["numerator"] == "在处理时限内完成的维修单"  # type: ignore[index]
    assert "已撤销" in d["excludes"] and "挂起" in d["excludes"]  # type: ignore[index]
    assert d["formula"].startswith("在处理时限内完成的维修单 ÷ ")  # type: ignore[index]
    assert d["target_set_by"] == "物业服务合同承诺值（系统默认）"  # type: ignore[index]
    sep, octo, nov, dec = repair["periods"]  # type: ignore[misc]
    assert (octo["numerator"], octo["denominator"], octo["met"], octo["partial"]) == (1, 2, False, False)
    assert octo["few_cases"] is True and octo["label"] == "2026-10（2 件）"
    # December: figures so far, marked, never compared with the target.
    assert (dec["numerator"], dec["denominator"], dec["value"]) == (1, 1, 100.0)
    assert dec["partial"] is True and dec["as_of"] == "2026-12-02" and dec["met"] is None
    assert dec["label"] == "2026-12（截至 12月2日，1 件）"
    assert sep["partial"] is False and sep["label"] == "2026-09" and sep["few_cases"] is False
    assert nov["denominator"] == 0 and nov["value"] is None and nov["label"] == "2026-11"
    # English: the same catalogue.
    r = await client.get(url, params=RANGE, headers={**f.auth(w.manager), "Accept-Language": "en"})
    repair = _series(r.json(), "repair_timeliness")
    assert repair["definition"]["numerator"] == "repairs resolved by their deadline"  # type: ignore[index]
    assert repair["periods"][-1]["label"] == "2026-12 (to 2 Dec, 1 case)"  # type: ignore[index]
    # CSV: partial, as_of and the formula on every row.
    r = await client.get(url, params={**RANGE, "format": "csv"}, headers=f.auth(w.committee))
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].endswith(",source,partial,as_of,formula")
    dec_row = next(x for x in lines if ",repair_timeliness,维修及时率,2026-12," in x)
    assert ",1,1,100.00,100.00,,live,yes,2026-12-02,在处理时限内完成的维修单 ÷ " in dec_row


async def test_charts_png_and_svg_with_the_bundled_font(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await _world(db)
    base = f"/v1/communities/{w.cid}/kpis/repair_timeliness"
    r = await client.get(f"{base}/chart.png", params=RANGE, headers=f.auth(w.committee))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "chart-repair.png").write_bytes(r.content)
    r = await client.get(f"{base}/chart.svg", params=RANGE, headers=f.auth(w.committee))
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert 'id="target-line"' in r.text
    # Every glyph of the title and the footnote is in the bundled font (no tofu boxes).
    r = await client.get(f"/v1/communities/{w.cid}/kpis", params={**RANGE, "metrics": "repair_timeliness"},
                         headers=f.auth(w.committee))  # fmt: skip
    from services.kpis.export import heading
    from services.kpis.schemas import KpiTable

    table = KpiTable.model_validate({**r.json(), "from_": r.json()["from"]})
    title = heading(table, w.community.name)
    assert "维修及时率" in title and charts.missing_glyphs(title) == set()
    note = charts.footnote(table.metrics[0], "zh-CN")
    assert "在处理时限内完成的维修单" in note and "截至 12月2日" in note
    assert charts.missing_glyphs(note) == set()
    for name in METRICS:  # every metric's words, in both languages
        s = table.metrics[0].model_copy(update={"metric": name})
        assert charts.missing_glyphs(charts.footnote(s, "zh-CN")) == set()
    # The company chart and a bad format.
    r = await client.get(f"/v1/companies/{w.company.id}/kpis/repair_timeliness/chart.png", params=RANGE,
                         headers=f.auth(w.manager))  # fmt: skip
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    r = await client.get(f"{base}/chart.gif", params=RANGE, headers=f.auth(w.committee))
    assert r.status_code == 404


async def test_monthly_report_pdf_is_readable_chinese(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await _world(db)
    url = f"/v1/communities/{w.cid}/reports/monthly"
    started = time.perf_counter()
    r = await client.get(url, params={"month": "2026-10"}, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < 8
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    text, pages = pdf_text(r.content, "community-2026-10")
    assert 1 <= pages <= 2
    flat = "".join(text.split())
    for words in ("物业服务月报", "2026年10月", "维修及时率", "绿化养护合格率", "有效投诉处理率", "业主满意率",
                  "在处理时限内完成的维修单", "水管水路", "党员责任岗", "物业服务企业（盖章）",
                  "业主委员会（审核）：待审核", "3号楼水管漏水"):  # fmt: skip
        assert words in flat, words
    assert "1/2" in flat and "66.67%" in flat  # repairs 1 of 2; greening 2 of 3 items
    assert "设备告警" not in flat  # no alarms this month: no section
    # December is still running: marked, not judged.
    r = await client.get(url, params={"month": "2026-12"}, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    text, _ = pdf_text(r.content, "community-2026-12")
    flat = "".join(text.split())
    assert "截至12月2日" in flat and "未结束" in flat
    # The company version ranks its communities.
    r = await client.get(f"/v1/companies/{w.company.id}/reports/monthly", params={"month": "2026-10"},
                         headers=f.auth(w.manager))  # fmt: skip
    assert r.status_code == 200, r.text
    text, pages = pdf_text(r.content, "company-2026-10")
    flat = "".join(text.split())
    assert "公司汇总" in flat and "各小区排名" in flat and w.community.name in flat and pages <= 2


async def test_committee_approves_and_posts_the_report(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await _world(db)
    url = f"/v1/communities/{w.cid}/reports/monthly"
    r = await client.post(f"{url}/approval", params={"month": "2026-12"}, headers=f.auth(w.committee))
    assert r.status_code == 409 and r.json()["error"]["code"] == "report.month_not_over"
    r = await client.post(f"{url}/approval", params={"month": "2026-10"}, headers=f.auth(w.committee))
    assert r.status_code == 200, r.text
    assert r.json()["approved_by"] == w.committee.id and r.json()["notice_id"] is None
    r = await client.get(url, params={"month": "2026-10"}, headers=f.auth(w.manager))
    text, _ = pdf_text(r.content, "community-2026-10-approved")
    assert f"业主委员会（审核）：{w.committee.name}" in text
    # One action: the notice is created with the PDF, set for the noticeboard, published.
    r = await client.post(f"{url}/notice", params={"month": "2026-10"}, headers=f.auth(w.committee))
    assert r.status_code == 201, r.text
    nid = r.json()["notice_id"]
    notice = (await db.exec(select(Notice).where(Notice.id == nid))).one()
    assert notice.status == "published" and notice.offline_reach is True and notice.pinned is True
    assert notice.author_role == "committee_member" and "2026年10月物业服务月报" in notice.title
    files = (
        await db.exec(select(Attachment).where(Attachment.owner_type == "notice", Attachment.owner_id == nid))
    ).all()
    assert len(files) == 1 and files[0].content_type == "application/pdf"
    row = (await db.exec(select(MonthlyReport).where(MonthlyReport.community_id == w.cid))).one()
    assert row.notice_id == nid and row.published_by == w.committee.id
    actions = {a.action for a in (await db.exec(select(AuditLog))).all()}
    assert {"report.approve", "report.publish", "notice.publish"} <= actions
    # The resident reads it on the board.
    r = await client.get(f"/v1/notices/{nid}", headers=f.auth(w.resident))
    assert r.status_code == 200 and len(r.json()["attachments"]) == 1
    r = await client.post(f"{url}/notice", params={"month": "2026-10"}, headers=f.auth(w.committee))
    assert r.status_code == 409 and r.json()["error"]["code"] == "report.already_published"


async def test_report_access_and_bad_months(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await _world(db)
    other = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/reports/monthly"
    month = {"month": "2026-10"}
    assert (await client.get(url, params=month)).status_code == 401
    assert (await client.post(f"{url}/notice", params=month)).status_code == 401
    for who in (other.manager, other.committee, other.resident):
        assert (await client.get(url, params=month, headers=f.auth(who))).status_code == 404
        assert (await client.post(f"{url}/approval", params=month, headers=f.auth(who))).status_code == 404
    # Residents read the report once it is posted; technicians do not read KPIs.
    for who in (w.resident, w.technician):
        assert (await client.get(url, params=month, headers=f.auth(who))).status_code == 403
    for who in (w.manager, w.admin, w.resident):
        assert (await client.post(f"{url}/notice", params=month, headers=f.auth(who))).status_code == 403
        assert (await client.post(f"{url}/approval", params=month, headers=f.auth(who))).status_code == 403
    for bad, code in (("2026-13", "kpi.invalid_period"), ("2026-Q4", "report.invalid_month"),
                      ("2027-01", "report.month_in_future"), ("October", "kpi.invalid_period")):  # fmt: skip
        r = await client.get(url, params={"month": bad}, headers=f.auth(w.manager))
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (bad, r.text)
    assert (await client.get(url, headers=f.auth(w.manager))).status_code == 422  # month is required
    company = f"/v1/companies/{w.company.id}/reports/monthly"
    assert (await client.get(company, params=month, headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(company, params=month, headers=f.auth(other.manager))).status_code == 404
    assert (await db.exec(select(MonthlyReport))).all() == []


async def test_company_drills_down_to_a_community_then_its_tickets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    second = await f.community(db)
    from services.models import ManagementContract

    db.add(
        ManagementContract(
            company_id=w.company.id or 0, community_id=second.id or 0, starts_on=date(2024, 1, 1)
        )
    )
    await db.flush()
    url = f"/v1/companies/{w.company.id}/kpis/repair_timeliness/communities"
    r = await client.get(url, params={"period": "2026-10"}, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"] == 100.0 and body["definition"]["numerator"] == "在处理时限内完成的维修单"
    first, empty = body["items"]  # worst first; a community without data last
    assert (first["community_id"], first["numerator"], first["denominator"], first["met"]) == (
        w.cid,
        1,
        2,
        False,
    )
    assert empty["community_id"] == second.id and empty["value"] is None
    r = await client.get(first["tickets"], headers=f.auth(w.manager))
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    r = await client.get(url, params={"period": "2026-12"}, headers=f.auth(w.manager))
    assert r.json()["items"][0]["partial"] is True and r.json()["items"][0]["met"] is None
    assert r.json()["items"][0]["label"] == "2026-12（截至 12月2日）"
    assert (await client.get(url, params={"period": "2026-10"})).status_code == 401
    assert (
        await client.get(url, params={"period": "2026-10"}, headers=f.auth(w.resident))
    ).status_code == 403
    other = await f.ticket_world(db)
    assert (
        await client.get(url, params={"period": "2026-10"}, headers=f.auth(other.manager))
    ).status_code == 404
    r = await client.get(url, params={"period": "Oct"}, headers=f.auth(w.manager))
    assert r.status_code == 422 and r.json()["error"]["code"] == "kpi.invalid_period"


async def test_below_target_alerts_reach_the_company_regional_manager(db: AsyncSession) -> None:
    """A manager held at the company (not the community) is told too; the partial month never alerts."""
    from services.kpis import jobs as kpi_jobs
    from services.models import Notification, Role

    w = await _world(db)
    regional = await f.company_staff(db, w.company, Role.property_manager, "区域经理")
    result = await kpi_jobs.rollup(db, now=bj(2026, 12, 2, 10), community_ids=[w.cid])
    months = {(m, start.isoformat()) for _, m, start in result.alerted}
    assert ("repair_timeliness", "2026-10-01") in months
    assert not any(start == "2026-12-01" for _, start in months)
    inbox = (await db.exec(select(Notification).where(Notification.user_id == regional.id))).all()
    assert any(
        n.data.get("kpi_metric") == "repair_timeliness" and n.data.get("kpi_period") == "2026-10"
        for n in inbox
    )


async def test_a_minutes_metric_is_drawn_in_minutes_with_its_ceiling(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    r = await client.get(
        f"/v1/communities/{w.cid}/kpis",
        params={**RANGE, "metrics": "alarm_ack_median"},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 200, r.text
    [raw] = r.json()["metrics"]
    series = KpiSeries.model_validate(raw)
    assert (series.unit, series.better) == ("minutes", "lower")
    assert (
        charts.target_text(series, "zh-CN") == "上限 5 分钟"
        and charts.target_text(series, "en") == "at most 5 min"
    )
    assert charts.fmt_value(series, 4.5, "zh-CN") == "4.5 分钟"
    assert charts.axis_titles(series, "month", "zh-CN")[1].endswith("（分钟）")
    assert (
        "上限 5 分钟" in charts.footnote(series, "zh-CN")
        and "%" not in charts.footnote(series, "zh-CN").split("口径")[0]
    )
    r = await client.get(
        f"/v1/communities/{w.cid}/kpis/alarm_ack_median/chart.svg", params=RANGE, headers=f.auth(w.committee)
    )
    assert r.status_code == 200 and 'id="target-line"' in r.text
