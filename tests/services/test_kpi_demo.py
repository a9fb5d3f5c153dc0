"""The demo community shows a year of KPI history with one month below target, the notification it
caused, and a chart; seeding twice changes nothing."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_kpis
from services.config import Settings
from services.kpis.export import to_svg
from services.kpis.service import Query, community_table
from services.models import Community, Notification, User, utcnow
from services.models.kpis import KpiAlert, KpiSnapshot


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

    today = utcnow().date()
    first = demo_kpis.months_back(today, 12)
    last = date.fromordinal(demo_kpis.months_back(today, 0).toordinal() - 1)
    table = await community_table(db, c, Query(first, last, "month", ["repair_timeliness", "response_timeliness",
                                  "owner_satisfaction", "rating_rate", "complaint_handling", "greening_pass_rate"]), utcnow())  # fmt: skip
    below = {(s.metric, p.period) for s in table.metrics for p in s.periods if p.met is False}
    bad = demo_kpis.months_back(today, demo_kpis.BAD_MONTH_BACK)
    label = f"{bad.year}-{bad.month:02d}"
    assert {period for _, period in below} == {label}, below
    assert ("repair_timeliness", label) in below
    assert all(len(s.periods) == 12 and all(p.denominator > 0 for p in s.periods) for s in table.metrics)
    assert all(p.source == "snapshot" for s in table.metrics for p in s.periods)

    manager = (await db.exec(select(User).where(User.phone == demo_kpis.MANAGER))).one()
    inbox = (
        await db.exec(
            select(Notification).where(Notification.user_id == manager.id, Notification.category == "kpi")
        )
    ).all()
    assert {n.data["kpi_metric"] for n in inbox} == {m for m, _ in below}
    assert all(n.data["kpi_period"] == label for n in inbox)
    alerts = (
        await db.exec(select(KpiAlert).where(KpiAlert.scope_id == c.id).order_by(col(KpiAlert.id)))
    ).all()
    assert len(alerts) == len(below)
    svg = to_svg(next(s for s in table.metrics if s.metric == "repair_timeliness"), "幸福里小区 · 维修及时率")
    assert 'id="target-line"' in svg and label in svg
