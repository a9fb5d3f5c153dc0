"""The demo community shows a year of KPI history with one month below target, the notification it
caused, and a chart; seeding twice changes nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_kpis, demo_tickets
from services.config import Settings
from services.kpis import charts
from services.kpis.service import Query, community_table, read_head
from services.models import Community, Notification, User, utcnow
from services.models.kpis import KpiAlert, KpiSnapshot
from services.models.tickets import Ticket

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


async def test_demo_year_with_one_month_below_target(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    await demo.seed(settings, sessionmaker)
    c = (await db.exec(select(Community).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert c.id is not None
    await demo_kpis.seed(db, c.id)
    counts = [(await db.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
              for t in (KpiSnapshot.__table__, KpiAlert.__table__)]  # type: ignore[attr-defined]  # fmt: skip
    await demo_kpis.seed(db, c.id)  # idempotent
    assert [(await db.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
            for t in (KpiSnapshot.__table__, KpiAlert.__table__)] == counts  # type: ignore[attr-defined]  # fmt: skip

    now = utcnow()
    today = now.astimezone(ZoneInfo(c.time_zone)).date()  # the community's month, not UTC's
    first = demo_kpis.months_back(today, 12)
    this_month = demo_kpis.months_back(today, 0)
    last = date.fromordinal(this_month.toordinal() - 1)
    metrics = ["repair_timeliness", "response_timeliness", "owner_satisfaction", "rating_rate",
               "complaint_handling", "greening_pass_rate"]  # fmt: skip
    head = await read_head(db, c.id)
    assert head is not None
    table = await community_table(db, head, Query(first, last, "month", metrics), now)
    below = {(s.metric, p.period) for s in table.metrics for p in s.periods if p.met is False}
    bad = demo_kpis.months_back(today, demo_kpis.BAD_MONTH_BACK)
    label = f"{bad.year}-{bad.month:02d}"
    # The live demo's overdue repair (four days old) is late at the end of every month it spans: in the
    # first days of a month that includes last month, which is then below target too.
    overdue = (await db.exec(select(Ticket).where(Ticket.title == demo_tickets.OVERDUE_TITLE))).one()
    assert overdue.resolution_due_at is not None and overdue.resolved_at is None
    month_start = datetime.combine(this_month, time(), ZoneInfo(c.time_zone))
    spans = overdue.resolution_due_at < month_start
    prev = demo_kpis.months_back(today, 1)
    prev_label = f"{prev.year}-{prev.month:02d}"
    assert {period for _, period in below} == {label} | ({prev_label} if spans else set()), below
    assert ("repair_timeliness", label) in below
    assert not spans or {m for m, p in below if p == prev_label} == {"repair_timeliness"}, below
    assert all(len(s.periods) == 12 and all(p.denominator > 0 for p in s.periods) for s in table.metrics)
    assert all(p.source == "snapshot" for s in table.metrics for p in s.periods)

    manager = (await db.exec(select(User).where(User.phone == demo_kpis.MANAGER))).one()
    inbox = (
        await db.exec(
            select(Notification).where(Notification.user_id == manager.id, Notification.category == "kpi")
        )
    ).all()
    # The live demo (a publicity notice read by few so far, duty shifts of the last weeks) can put last
    # month's notice read rate and duty attendance below target too; those are not in this table.
    sent = {(n.data["kpi_metric"], n.data["kpi_period"]) for n in inbox}
    assert {(m, p) for m, p in sent if m in metrics} == below
    assert {p for m, p in sent if m not in metrics} <= {prev_label}, sent
    alerts = (
        await db.exec(select(KpiAlert).where(KpiAlert.scope_id == c.id).order_by(col(KpiAlert.id)))
    ).all()
    assert len(alerts) == len(sent)
    series = next(s for s in table.metrics if s.metric == "repair_timeliness")
    svg = charts.render(series, "幸福里小区 · 维修及时率", "month", "svg").decode()
    assert 'id="target-line"' in svg and label in [p.period for p in series.periods]
