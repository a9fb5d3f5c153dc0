"""The monthly service report (物业服务月报): what it says, gathered for one community or company.

Contents (rendered to an A4 PDF by services.kpis.report_pdf):
- the four promised KPIs (repair timeliness, greening pass rate, effective complaint handling,
  owner satisfaction) for the month with their targets, who set them and their formulas
  (services.kpis.catalogue), and a 12-month trend; the month still running is marked partial
  ("截至 12月2日") and is not judged against the target;
- tickets by category: opened, resolved, resolved on time;
- complaints due in the month and how they were handled (invalid, cancelled and rejected listed apart);
- inspections by kind (items, passed, failed ones that opened a ticket);
- duty hours of the party members (service-hours ledger) and shift attendance;
- alarms, only when the month had any;
- what was done: the latest resolved tickets;
- signatures: the property company, and the committee once it approved the report.
A company's report sums its communities and ranks them by targets met.

Readers: the community's staff and committee (DRILL_READERS: it lists ticket titles); residents
read it once the committee has posted it as a notice. Company reports: the company's readers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.errors import InvalidInput, NotFound
from services.i18n import label
from services.kpis import periods as P
from services.kpis.compute import fetch_facts
from services.kpis.schemas import KpiSeries
from services.kpis.service import (
    Clock,
    Query,
    community_table,
    company_table,
    contracts,
    met_of,
    read_head,
    value_of,
    zone_of,
)
from services.models import Community, PropertyCompany, User
from services.models.duty import ServiceLog
from services.models.kpis import MonthlyReport
from services.models.tickets import Inspection, InspectionItem, Ticket

PROMISED = ("repair_timeliness", "greening_pass_rate", "complaint_handling", "owner_satisfaction")
TREND_MONTHS = 12
DONE_ROWS = 8


def parse_month(month: str, tz: ZoneInfo, now: datetime) -> P.Period:
    p = P.parse_label(month)
    if p.granularity != "month":
        raise InvalidInput("report.invalid_month", details={"month": month})
    if P.instant(p.start, tz) > now:
        raise InvalidInput("report.month_in_future", details={"month": month})
    return p


@dataclass
class CategoryRow:
    kind: str
    category: str
    opened: int = 0
    resolved: int = 0
    on_time: int = 0


@dataclass
class ReportData:
    scope: str
    title: str  # community or company name
    company: str
    month: P.Period
    as_of: date | None  # the month is still running: figures so far
    kpis: list[KpiSeries]  # 12 months ending with `month`
    categories: list[CategoryRow] = field(default_factory=list)
    complaints: dict[str, int] = field(default_factory=dict)
    inspections: list[tuple[str, int, int, int]] = field(default_factory=list)  # kind, items, passed, tickets
    duty: dict[str, Any] = field(default_factory=dict)
    alarms: list[tuple[str, int, int]] = field(default_factory=list)  # type, raised, closed
    done: list[tuple[date, str, str]] = field(default_factory=list)  # resolved on, category, title
    approved_by: str | None = None
    approved_at: datetime | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)  # company: per community
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def current(self, metric: str) -> Any:
        s = next(s for s in self.kpis if s.metric == metric)
        return s, s.periods[-1] if s.periods else None


def _query(month: P.Period) -> Query:
    first = P.months_before(month.start, TREND_MONTHS - 1)
    return Query(first, month.last_day, "month", list(PROMISED))


async def company_name(session: AsyncSession, cid: int, day: date) -> str:
    from services.models import ManagementContract

    mc = ManagementContract.__table__.c  # type: ignore[attr-defined]
    pc = PropertyCompany.__table__.c  # type: ignore[attr-defined]
    stmt = (
        sa.select(pc.name)
        .select_from(ManagementContract.__table__.join(PropertyCompany.__table__, pc.id == mc.company_id))  # type: ignore[attr-defined]
        .where(mc.community_id == cid, mc.starts_on <= day, sa.or_(mc.ends_on.is_(None), mc.ends_on >= day))
        .order_by(mc.starts_on.desc())
        .limit(1)
    )
    return str((await session.execute(stmt)).scalar() or "")


async def community_report(
    session: AsyncSession, c: Community, month: P.Period, now: datetime, locale: str = "zh-CN"
) -> ReportData:
    assert c.id is not None
    tz = zone_of(c)
    if (head := await read_head(session, c.id)) is None:  # deleted since the caller read it
        raise NotFound("community.not_found")
    table = await community_table(session, head, _query(month), now, locale)
    lo, hi = month.bounds(tz)
    hi = min(hi, now)
    as_of = Clock(now, (tz,), 0).as_of(month)
    data = ReportData("community", c.name, await company_name(session, c.id, month.last_day), month, as_of,
                      table.metrics, tz=tz)  # fmt: skip
    await _tickets(session, [c.id], lo, hi, data, locale)
    await _complaints(session, [c.id], lo, hi, now, data)
    await _inspections(session, [c.id], lo, hi, data, locale)
    await _duty(session, [c.id], lo, hi, now, data)
    await _alarms(session, [c.id], lo, hi, data, locale)
    row = await load_row(session, c.id, month.start)
    if row is not None and row.approved_by is not None:
        user = await session.get(User, row.approved_by)
        data.approved_by, data.approved_at = (user.name if user else ""), row.approved_at
    return data


async def company_report(
    session: AsyncSession, company_id: int, month: P.Period, now: datetime, locale: str = "zh-CN"
) -> ReportData:
    co = await session.get(PropertyCompany, company_id)
    table = await company_table(session, company_id, _query(month), now, locale)
    tz = ZoneInfo("Asia/Shanghai")
    lo, hi = month.bounds(tz)
    hi = min(hi, now)
    cids = [
        cid for cid, s, e in await contracts(session, company_id) if s <= month.last_day and (e is None or e >= month.start)
    ]  # fmt: skip
    as_of = Clock(now, (tz,), 0).as_of(month)
    name = co.name if co else str(company_id)
    data = ReportData("company", name, name, month, as_of, table.metrics, tz=tz)
    await _tickets(session, cids, lo, hi, data, locale)
    await _complaints(session, cids, lo, hi, now, data)
    await _inspections(session, cids, lo, hi, data, locale)
    await _duty(session, cids, lo, hi, now, data)
    await _alarms(session, cids, lo, hi, data, locale)
    communities = (
        (await session.exec(select(Community).where(col(Community.id).in_(cids)))).all() if cids else []
    )
    one = Query(month.start, month.last_day, "month", list(PROMISED))
    for c in communities:
        assert c.id is not None
        if (head := await read_head(session, c.id)) is None:  # deleted: not on the dashboard either
            continue
        t = await community_table(session, head, one, now, locale)
        cells = {s.metric: (s.periods[-1] if s.periods else None, s.target) for s in t.metrics}
        met = sum(1 for p, _ in cells.values() if p is not None and p.met)
        values = [p.value for p, _ in cells.values() if p is not None and p.value is not None]
        data.ranking.append(
            {"community": c.name, "cells": cells, "met": met,
             "mean": sum(values) / len(values) if values else None}
        )  # fmt: skip
    data.ranking.sort(key=lambda r: (-r["met"], -(r["mean"] or -1.0), r["community"]))
    return data


async def load_row(session: AsyncSession, cid: int, month: date) -> MonthlyReport | None:
    stmt = select(MonthlyReport).where(MonthlyReport.community_id == cid, MonthlyReport.month == month)
    return (await session.exec(stmt)).first()


async def _tickets(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, data: ReportData, locale: str
) -> None:
    t = Ticket.__table__.c  # type: ignore[attr-defined]
    if not cids:
        return
    stmt = sa.select(
        t.kind, t.category, t.title, t.created_at, t.resolved_at, t.resolution_due_at, t.status
    ).where(
        t.community_id.in_(cids),
        sa.or_(sa.and_(t.created_at >= lo, t.created_at < hi), sa.and_(t.resolved_at >= lo, t.resolved_at < hi)),
    )  # fmt: skip
    rows: dict[tuple[str, str], CategoryRow] = {}
    done = []
    for kind, category, title, created, resolved, due, status in (await session.execute(stmt)).all():
        row = rows.setdefault((kind, category), CategoryRow(kind, category))
        if lo <= created < hi:
            row.opened += 1
        if resolved is not None and lo <= resolved < hi and status in ("resolved", "closed"):
            row.resolved += 1
            row.on_time += int(due is None or resolved <= due)
            done.append((resolved, label("ticket.category", category, locale) or category, title))
    data.categories = sorted(rows.values(), key=lambda r: (r.kind, -r.opened, r.category))
    done.sort(key=lambda d: d[0], reverse=True)
    data.done = [(P.local_date(at, data.tz), cat, title) for at, cat, title in done[:DONE_ROWS]]


async def _complaints(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime, data: ReportData
) -> None:
    facts = await fetch_facts(session, "complaint_handling", cids, lo, hi, now)
    c: Counter[str] = Counter()
    for f in facts:
        c["due"] += 1
        if f.excluded is not None:
            c[str(f.excluded)] += 1
            continue
        c["valid"] += 1
        if f.done_at is not None and f.done_at < hi:
            c["closed"] += 1
    data.complaints = {k: c.get(k, 0) for k in ("due", "valid", "closed", "invalid", "cancelled", "rejected")}


async def _inspections(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, data: ReportData, locale: str
) -> None:
    if not cids:
        return
    i = InspectionItem.__table__.c  # type: ignore[attr-defined]
    ins = Inspection.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(
            i.kind,
            sa.func.count(),
            sa.func.sum(sa.case((i.passed.is_(True), 1), else_=0)),
            sa.func.count(i.ticket_id),
        )
        .select_from(InspectionItem.__table__.join(ins, ins.c.id == i.inspection_id))  # type: ignore[attr-defined]
        .where(i.community_id.in_(cids), ins.c.inspected_at >= lo, ins.c.inspected_at < hi)
        .group_by(i.kind)
        .order_by(i.kind)
    )
    data.inspections = [
        (label("inspection.kind", k, locale) or k, int(n), int(p or 0), int(tk))
        for k, n, p, tk in (await session.execute(stmt)).all()
    ]


async def _duty(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime, data: ReportData
) -> None:
    if not cids:
        return
    s = ServiceLog.__table__.c  # type: ignore[attr-defined]
    members, hours = (
        await session.execute(
            sa.select(sa.func.count(sa.distinct(s.user_id)), sa.func.sum(s.hours)).where(
                s.community_id.in_(cids), s.at >= lo, s.at < hi
            )
        )
    ).one()
    shifts = await fetch_facts(session, "duty_attendance", cids, lo, hi, now)
    data.duty = {
        "members": int(members or 0),
        "hours": Decimal(hours or 0).quantize(Decimal("0.1")),
        "shifts": len(shifts),
        "attended": sum(f.num for f in shifts),
    }


async def _alarms(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, data: ReportData, locale: str
) -> None:
    try:
        from services.models.alarms import Alarm
    except ImportError:  # pragma: no cover  (a build without the alarms area)
        return
    if not cids:
        return
    a = Alarm.__table__.c  # type: ignore[attr-defined]
    stmt = (
        sa.select(a.type, sa.func.count(), sa.func.count(a.closed_at))
        .where(a.community_id.in_(cids), a.first_seen_at >= lo, a.first_seen_at < hi)
        .group_by(a.type)
        .order_by(sa.func.count().desc())
    )
    data.alarms = [
        (label("alarm.type", k, locale) or k, int(n), int(closed))
        for k, n, closed in (await session.execute(stmt)).all()
    ]


def rate_text(num: int, den: int) -> str:
    v = value_of(num, den)
    return "—" if v is None else f"{v:g}%"


def verdict(num: int, den: int, target: float, partial: bool) -> str:
    if partial:
        return "未结束"
    m = met_of(num, den, target)
    return "—" if m is None else ("达标" if m else "未达标")


def by_kind(rows: list[CategoryRow]) -> dict[str, list[CategoryRow]]:
    out: dict[str, list[CategoryRow]] = defaultdict(list)
    for r in rows:
        out[r.kind].append(r)
    return out
