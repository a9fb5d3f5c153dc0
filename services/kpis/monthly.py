"""The monthly service report over HTTP: download (PDF), the committee's approval, and publishing it
as a notice in one action (the PDF attached, "post on the noticeboard" set, published at once).

Publishing renders the PDF with the committee's signature before the transaction's first write (the
CPU-heavy part never holds SQLite's write lock), then records the approval, creates the notice,
attaches the PDF and publishes it (receipts and notifications) in the request's one transaction.
A month still running cannot be approved or published (409 report.month_not_over); a month is
published once (409 report.already_published).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from services import audit
from services.attachments.service import DOCUMENT_TYPES, prepare_upload
from services.errors import Conflict
from services.kpis import periods as P
from services.kpis import report, report_pdf
from services.kpis.service import (
    COMPANY_READERS,
    DRILL_READERS,
    load_community,
    require_company_reader,
    zone_of,
)
from services.models import Community, Role, User, utcnow
from services.models.kpis import MonthlyReport
from services.runtime import Ctx

APPROVERS = (Role.committee_member,)


@dataclass(frozen=True)
class Pdf:
    body: bytes
    filename: str


def filename(name: str, label: str) -> str:
    return f"{name}-物业服务月报-{label}.pdf"


async def community_pdf(ctx: Ctx, cid: int, month: str, now: datetime | None = None) -> Pdf:
    c = await load_community(ctx, cid, DRILL_READERS)
    now = now or utcnow()
    p = report.parse_month(month, zone_of(c), now)
    data = await report.community_report(ctx.session, c, p, now, ctx.locale)
    body = await asyncio.to_thread(report_pdf.render, data, now)
    return Pdf(body, filename(c.name, p.label))


async def company_pdf(ctx: Ctx, company_id: int, month: str, now: datetime | None = None) -> Pdf:
    await require_company_reader(ctx, company_id, COMPANY_READERS)
    now = now or utcnow()
    from zoneinfo import ZoneInfo

    p = report.parse_month(month, ZoneInfo("Asia/Shanghai"), now)
    data = await report.company_report(ctx.session, company_id, p, now, ctx.locale)
    body = await asyncio.to_thread(report_pdf.render, data, now)
    return Pdf(body, filename(data.title, p.label))


async def _closed_month(ctx: Ctx, cid: int, month: str, now: datetime) -> tuple[Community, P.Period]:
    c = await load_community(ctx, cid, APPROVERS)
    p = report.parse_month(month, zone_of(c), now)
    if P.instant(p.end, zone_of(c)) > now:
        raise Conflict("report.month_not_over", details={"month": p.label})
    return c, p


async def _row(ctx: Ctx, cid: int, p: P.Period) -> MonthlyReport:
    row = await report.load_row(ctx.session, cid, p.start)
    return row or MonthlyReport(community_id=cid, month=p.start)


def state(row: MonthlyReport, label: str) -> dict[str, object]:
    return {
        "community_id": row.community_id,
        "month": label,
        "approved_by": row.approved_by,
        "approved_at": row.approved_at,
        "notice_id": row.notice_id,
        "published_at": row.published_at,
    }


async def approve(ctx: Ctx, cid: int, month: str) -> dict[str, object]:
    now = utcnow()
    _, p = await _closed_month(ctx, cid, month, now)
    row = await _row(ctx, cid, p)
    if row.approved_at is None:
        row.approved_by, row.approved_at = ctx.require_principal().user_id, now
        ctx.session.add(row)
        await ctx.session.flush()
        await audit.record(ctx, "report.approve", "monthly_report", row.id, community_id=cid,
                           after={"month": p.label})  # fmt: skip
    return state(row, p.label)


async def publish(ctx: Ctx, cid: int, month: str) -> dict[str, object]:
    from services.notices import service as notices
    from services.notices.schemas import NoticeCreate, PublishIn

    now = utcnow()
    c, p = await _closed_month(ctx, cid, month, now)
    row = await _row(ctx, cid, p)
    if row.notice_id is not None:
        raise Conflict("report.already_published", details={"notice_id": row.notice_id})
    principal = ctx.require_principal()
    data = await report.community_report(ctx.session, c, p, now, ctx.locale)
    if data.approved_by is None:
        me = await ctx.session.get(User, principal.user_id)
        data.approved_by, data.approved_at = (me.name if me else ""), now
    body = await asyncio.to_thread(report_pdf.render, data, now)
    name = filename(c.name, p.label)
    upload = await prepare_upload(ctx.settings, body, name, DOCUMENT_TYPES)
    # Writes from here on.
    if row.approved_at is None:
        row.approved_by, row.approved_at = principal.user_id, now
    words = f"{p.start.year}年{p.start.month}月"
    notice = await notices.create_notice(
        ctx,
        cid,
        NoticeCreate(
            kind="announcement",  # type: ignore[arg-type]
            title=f"{c.name} {words}物业服务月报",
            body_md=(
                f"{words}物业服务月报已经业主委员会审核，详见附件（PDF）。"
                "内容：服务承诺指标及近 12 个月趋势、报修与投诉、巡查、党员责任岗服务时长、本月完成事项。"
            ),
            author_role=Role.committee_member,  # type: ignore[arg-type]
            offline_reach=True,
            pinned=True,
        ),
    )
    assert notice.id is not None
    await notices.add_attachment(ctx, notice.id, upload)
    await notices.publish(ctx, notice.id, PublishIn())
    row.notice_id, row.published_by, row.published_at = notice.id, principal.user_id, now
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(ctx, "report.publish", "monthly_report", row.id, community_id=cid,
                       after={"month": p.label, "notice_id": notice.id})  # fmt: skip
    return state(row, p.label)
