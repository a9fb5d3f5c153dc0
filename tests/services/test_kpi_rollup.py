"""The roll-up: snapshots equal live figures, a late reopen re-computes the period it touches, and a
metric below target notifies the manager and the community admin once per period."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.config import Settings
from services.kpis import jobs
from services.kpis.periods import GRANULARITIES
from services.kpis.service import CommunityHead, Query, community_table, read_head
from services.models import Notification
from services.models.kpis import KpiAlert, KpiSnapshot
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from services.tickets.schemas import TransitionIn
from services.tickets.service import open_ticket
from services.tickets.transitions import Call, apply
from tests import factories as f
from workers.tasks.kpis import rollup_kpis

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

BJ = ZoneInfo("Asia/Shanghai")
METRICS = ["repair_timeliness", "response_timeliness", "owner_satisfaction", "rating_rate",
           "complaint_handling", "greening_pass_rate", "notice_read_rate", "duty_attendance"]  # fmt: skip


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ).astimezone(UTC)  # type: ignore[misc]


def _cells(table: object) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (s.metric, p.period): (p.numerator, p.denominator)
        for s in table.metrics  # type: ignore[attr-defined]
        for p in s.periods
    }


async def _head(db: AsyncSession, cid: int) -> CommunityHead:
    head = await read_head(db, cid)
    assert head is not None
    return head


async def test_snapshots_equal_live_for_every_granularity(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    h = f.KpiHistory(w, await f.kpi_ctx(db, w.manager), BJ)
    rng = random.Random(7)
    first = bj(2026, 1, 1)
    await f.random_history(db, h, rng, tickets=40, first=first, days=150)
    await f.random_greening(db, h, rng, count=15, first=first, days=150)
    now = bj(2026, 7, 3, 9)
    result = await jobs.rollup(db, now=now, community_ids=[w.cid])
    assert result.snapshots > 0
    for g in GRANULARITIES:
        q = Query(date(2026, 1, 1), date(2026, 7, 3), g, METRICS)
        stored = await community_table(db, await _head(db, w.cid), q, now)
        live = await community_table(
            db, await _head(db, w.cid), Query(q.first, q.last, g, METRICS, live=True), now
        )
        assert _cells(stored) == _cells(live), g
        sources = {p.source for s in stored.metrics for p in s.periods[:-1]}
        assert sources == ({"snapshot"} if g != "year" else set()), g  # closed periods: snapshots
        assert stored.metrics[0].periods[-1].source == "live"
    # Nothing changed: a second run writes nothing.
    assert (await jobs.rollup(db, now=now + timedelta(minutes=10), community_ids=[w.cid])).snapshots == 0


async def _ticket(db: AsyncSession, w: f.TicketWorld, ctx: object, created: datetime) -> object:
    t = await open_ticket(ctx, community_id=w.cid, kind="repair", category="plumbing", priority="normal",  # type: ignore[arg-type]
                          title="灯不亮", description="", reporter_id=w.resident.id or 0, intake_channel="app",
                          household=w.household, now=created)  # fmt: skip
    assert t.id is not None
    await f._after_photo(db, w, t.id)
    return t


async def _act(db: AsyncSession, w: f.TicketWorld, ctx: object, t: object, action: str, at: datetime) -> None:
    body = TransitionIn(
        action=action, version=t.version, note="好了", reason="没修好", assignee_id=w.technician.id
    )  # type: ignore[arg-type, attr-defined]
    await apply(Call(db, ctx, t, body, at, w.manager.id), action)  # type: ignore[arg-type]


async def _march(db: AsyncSession, cid: int) -> tuple[int, int]:
    row = (
        await db.exec(
            select(KpiSnapshot).where(
                KpiSnapshot.scope_id == cid,
                KpiSnapshot.metric == "repair_timeliness",
                KpiSnapshot.granularity == "month",
                KpiSnapshot.period_start == date(2026, 3, 1),
            )
        )
    ).one()
    await db.refresh(row)
    return row.numerator, row.denominator


async def test_a_reopen_recomputes_its_period_and_alerts_once(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    t = await _ticket(db, w, ctx, bj(2026, 3, 27, 10))  # due 29 March 10:00 (48 h, around the clock)
    for action, at in (
        ("assign", bj(2026, 3, 27, 11)),
        ("start", bj(2026, 3, 27, 12)),
        ("resolve", bj(2026, 3, 28, 10)),
    ):
        await _act(db, w, ctx, t, action, at)  # fmt: skip
    await jobs.rollup(db, now=bj(2026, 4, 1, 12), community_ids=[w.cid])
    assert await _march(db, w.cid) == (1, 1)
    assert (await db.exec(select(KpiAlert).where(KpiAlert.scope_id == w.cid))).all() == []

    # The resident reopens on 2 April: the March resolve is withdrawn, and the ticket was open and
    # past due at the end of March.
    await _act(db, w, ctx, t, "reopen", bj(2026, 4, 2, 9))
    result = await jobs.rollup(db, now=bj(2026, 4, 2, 13), community_ids=[w.cid])
    assert await _march(db, w.cid) == (0, 1)
    q = Query(date(2026, 3, 1), date(2026, 3, 31), "month", ["repair_timeliness"])
    live = await community_table(
        db, await _head(db, w.cid), Query(q.first, q.last, "month", q.metrics, live=True), bj(2026, 4, 2, 13)
    )
    assert _cells(live)[("repair_timeliness", "2026-03")] == (0, 1)

    # Below target: one alert row and one inbox item each for the manager and the community admin.
    assert result.alerted == [(w.cid, "repair_timeliness", date(2026, 3, 1))]
    for _ in range(2):  # later runs (and recomputations) do not notify again
        await _act(db, w, ctx, t, "start", bj(2026, 4, 2, 14)) if t.status == "assigned" else None  # type: ignore[attr-defined, func-returns-value]
        again = await jobs.rollup(db, now=bj(2026, 4, 3, 13), community_ids=[w.cid])
        assert again.alerts == 0
    inbox = (
        await db.exec(
            select(Notification).where(Notification.category == "kpi", Notification.community_id == w.cid)
        )
    ).all()
    assert sorted(n.user_id for n in inbox) == sorted([w.manager.id, w.admin.id])
    assert all(n.data["template"] == "kpi.below_target" and n.data["kpi_period"] == "2026-03" for n in inbox)
    assert "0.00%" in inbox[0].body and "100.00%" in inbox[0].body  # fmt: skip


async def test_only_recent_months_alert_old_history_is_rolled_up_silently(db: AsyncSession) -> None:
    # A community onboarded with old history: its first roll-up writes every month's snapshot, but
    # pages the manager only about the last three closed months (here April–June).
    w = await f.ticket_world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    for month in (1, 5):  # a late repair in January and another in May
        t = await _ticket(db, w, ctx, bj(2026, month, 5, 10))
        for action, day in (("assign", 5), ("start", 6), ("resolve", 20)):
            await _act(db, w, ctx, t, action, bj(2026, month, day, 12))
    result = await jobs.rollup(db, now=bj(2026, 7, 3, 9), community_ids=[w.cid])
    assert result.alerted == [(w.cid, "repair_timeliness", date(2026, 5, 1))]
    old = (
        await db.exec(
            select(KpiSnapshot).where(
                KpiSnapshot.scope_id == w.cid,
                KpiSnapshot.metric == "repair_timeliness",
                KpiSnapshot.granularity == "month",
                KpiSnapshot.period_start == date(2026, 1, 1),
            )
        )
    ).one()
    assert (old.numerator, old.denominator) == (0, 1)  # still shown below target on the dashboard
    alerts = (await db.exec(select(KpiAlert).where(KpiAlert.scope_id == w.cid))).all()
    assert [a.period_start for a in alerts] == [date(2026, 5, 1)]


async def test_the_worker_task_rolls_up_every_community(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    await _ticket(db, w, ctx, datetime.now(UTC) - timedelta(days=70))
    await db.commit()
    resources = Resources(
        engine=engine,
        sessionmaker=sessionmaker,
        runtime=Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None)),
    )
    assert await rollup_kpis(resources) > 0
    rows = (
        await db.exec(
            select(KpiSnapshot).where(KpiSnapshot.scope_id == w.cid, col(KpiSnapshot.granularity) == "month")
        )
    ).all()
    assert rows  # fmt: skip


async def test_company_dashboard_summed_in_the_database_equals_live(db: AsyncSession) -> None:
    """The company table sums snapshots in SQL when every cell has one (services.kpis.service
    ._from_totals); the figures must equal live ones, and where a cell has no snapshot (a community
    with no data yet, a deleted row) the per-community path must answer, with the same figures."""
    from sqlalchemy import delete

    from services.kpis import service
    from services.models import ManagementContract

    w = await f.ticket_world(db)
    h = f.KpiHistory(w, await f.kpi_ctx(db, w.manager), BJ)
    rng = random.Random(11)
    first = bj(2026, 1, 1)
    await f.random_history(db, h, rng, tickets=40, first=first, days=150)
    await f.random_greening(db, h, rng, count=15, first=first, days=150)
    now = bj(2026, 7, 3, 9)
    await jobs.rollup(db, now=now, community_ids=[w.cid])
    assert w.company.id is not None
    co = w.company.id
    used: list[bool] = []
    real = service._from_totals

    async def spy(*args: object) -> object:
        got = await real(*args)  # type: ignore[arg-type]
        used.append(got is not None)
        return got

    async def same(g: str) -> set[str]:
        q = Query(date(2026, 1, 1), date(2026, 6, 30), g, METRICS)
        live = await service.company_table(db, co, Query(q.first, q.last, g, METRICS, live=True), now)
        stored = await service.company_table(db, co, q, now)
        assert _cells(stored) == _cells(live), g
        return {p.source for s in stored.metrics for p in s.periods}

    service._from_totals = spy  # type: ignore[assignment]
    try:
        for g in ("month", "quarter"):
            assert await same(g) == {"snapshot"}
        assert used == [False, True, False, True]  # live never sums; closed ranges do
        # One snapshot gone: the per-community path fills that cell live.
        march = (
            col(KpiSnapshot.scope_id) == w.cid,
            col(KpiSnapshot.metric) == "repair_timeliness",
            col(KpiSnapshot.granularity) == "month",
            col(KpiSnapshot.period_start) == date(2026, 3, 1),
        )
        await db.exec(delete(KpiSnapshot).where(*march))  # type: ignore[call-overload]
        assert await same("month") == {"snapshot", "live"}
        assert used[-1] is False
        # A second community with no data under the same company: no snapshots of it to sum.
        other = await f.community(db)
        db.add(ManagementContract(company_id=co, community_id=other.id or 0, starts_on=date(2024, 1, 1)))
        await db.flush()
        await jobs.rollup(db, now=now, community_ids=[other.id or 0])
        assert await same("quarter") == {"snapshot"}
        assert used[-1] is False
    finally:
        service._from_totals = real  # type: ignore[assignment]
