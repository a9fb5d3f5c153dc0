"""Demo KPI history: a year of repairs, complaints, ratings and greening inspections for the demo
community, generated deterministically (one seeded random stream per month), then rolled up.

Eleven months meet every target; the second month back (recent enough to alert on: only the last
three closed months do) has four late repairs and two failed greening items, so it is below target
and its roll-up sends the property manager and the community admin a `kpi.below_target`
notification. Rows are inserted directly but follow the ticket model: due times
come from the community's SLA policy (services.tickets.deadlines.initial), every step has its
ticket_event, ratings mirror ticket.rating_overall. Idempotent: a community that already has demo
KPI tickets gets only the roll-up again (which sends nothing twice).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis import jobs, periods
from services.models import Community, Household, User, utcnow
from services.models.tickets import Inspection, InspectionItem, Ticket, TicketEvent, TicketRating
from services.tickets.deadlines import initial, policy_for

MARK = "[KPI演示]"
MANAGER, TECHNICIAN, RESIDENT = "+8613800000001", "+8613800000002", "+8613700000001"
BAD_MONTH_BACK = 2  # counting back from the current month (1 = last month)


def months_back(today: date, n: int) -> date:
    return periods.months_before(today, n)


async def seed(session: AsyncSession, community_id: int) -> None:
    c = await session.get(Community, community_id)
    if c is None:
        return
    exists = (
        await session.exec(
            select(Ticket.id).where(Ticket.community_id == community_id, col(Ticket.title).startswith(MARK))
        )
    ).first()
    if exists is None:
        people = {
            u.phone: u
            for u in (
                await session.exec(select(User).where(col(User.phone).in_([MANAGER, TECHNICIAN, RESIDENT])))
            ).all()
        }
        home = (await session.exec(select(Household).where(Household.community_id == community_id))).first()
        if len(people) < 3 or home is None:
            return
        tz = ZoneInfo(c.time_zone)
        today = utcnow().astimezone(tz).date()
        for back in range(12, 0, -1):
            await _month(session, c, people, home, tz, months_back(today, back), back == BAD_MONTH_BACK)
        await session.flush()
    await jobs.rollup(session, community_ids=[community_id])


def _at(first: date, day: int, hour: int, tz: ZoneInfo) -> datetime:
    return datetime(first.year, first.month, day, hour, 0, tzinfo=tz).astimezone(UTC)


async def _month(
    session: AsyncSession,
    c: Community,
    people: dict[str, User],
    home: Household,
    tz: ZoneInfo,
    first: date,
    bad: bool,
) -> None:
    rng = random.Random(f"linli-kpi-demo-{first.isoformat()}")
    manager, tech, resident = (people[p].id or 0 for p in (MANAGER, TECHNICIAN, RESIDENT))
    late = set(rng.sample(range(20), 4)) if bad else set()
    unrated = set(rng.sample(range(20), 2))
    for i in range(20):
        created = _at(first, rng.randrange(1, 22), rng.randrange(8, 19), tz)
        await _ticket(session, c, home, "repair", rng.choice(["plumbing", "electric", "door"]), created,
                      manager, tech, resident, rng, late=i in late, rated=i not in unrated)  # fmt: skip
    for i in range(3):
        created = _at(first, rng.randrange(1, 20), rng.randrange(9, 17), tz)
        await _ticket(session, c, home, "complaint", "noise", created, manager, tech, resident, rng,
                      valid=i != 2 or rng.random() < 0.5)  # fmt: skip
    for week in range(4):
        at = _at(first, 3 + week * 7, 10, tz)
        ins = Inspection(community_id=c.id or 0, kind="greening", area=f"{week + 1}号绿地", inspector_id=tech,
                         note=MARK, inspected_at=at, created_at=at)  # fmt: skip
        session.add(ins)
        await session.flush()
        for k, name in enumerate(
            ["草坪修剪", "灌木整形", "病虫害", "补植", "浇灌", "清理落叶", "树木支撑", "花坛", "绿篱", "枯枝"]
        ):
            failed = bad and week == 1 and k < 2
            session.add(InspectionItem(inspection_id=ins.id or 0, community_id=c.id or 0, kind="greening",
                                       name=name, passed=not failed, created_at=at))  # fmt: skip


async def _ticket(
    session: AsyncSession, c: Community, home: Household, kind: str, category: str, created: datetime,
    manager: int, tech: int, resident: int, rng: random.Random, late: bool = False, valid: bool = True,
    rated: bool = True,
) -> None:  # fmt: skip
    t = Ticket(community_id=c.id or 0, household_id=home.id, building_id=home.building_id, kind=kind,
               category=category, priority="normal", status="closed", title=f"{MARK}{'报修' if kind == 'repair' else '投诉'}",
               reporter_id=resident, created_by_id=resident, assignee_id=tech, created_at=created)  # fmt: skip
    policy = await policy_for(session, t)
    for key, value in initial(t, created, policy).items():
        setattr(t, key, value)
    assert t.response_due_at is not None and t.resolution_due_at is not None
    accepted = created + (t.response_due_at - created) * rng.uniform(0.05, 0.6)
    started = accepted + timedelta(minutes=30)
    window = t.resolution_due_at - started
    resolved = (
        t.resolution_due_at + timedelta(hours=rng.randrange(2, 30))
        if late
        else started + window * rng.uniform(0.1, 0.8)
    )
    closed = resolved + timedelta(hours=rng.randrange(2, 20))
    overall = (rng.choice([2, 3]) if late else rng.choice([4, 5, 5])) if rated else None
    t.accepted_at, t.assigned_at, t.started_at, t.resolved_at, t.closed_at = (
        accepted,
        accepted,
        started,
        resolved,
        closed,
    )
    t.updated_at, t.rating_overall, t.version = closed, overall, 6
    t.resolution_note = "已处理"
    if kind == "complaint":
        t.complaint_valid, t.validity_reason, t.classified_by_id, t.classified_at = (
            valid,
            "核实",
            manager,
            accepted,
        )
    session.add(t)
    await session.flush()
    steps: list[tuple[str, str | None, str, datetime, int, dict[str, Any]]] = [
        (
            "create",
            None,
            "submitted",
            created,
            resident,
            {"intake_channel": "app", "policy_id": policy.policy_id},
        ),
        ("assign", "submitted", "assigned", accepted, manager, {"assignee_id": tech, "mode": "assign"}),
        ("start", "assigned", "in_progress", started, tech, {}),
        ("resolve", "in_progress", "resolved", resolved, tech, {"note": "已处理"}),
        ("close", "resolved", "closed", closed, resident, {"auto": False}),
    ]
    if kind == "complaint":
        steps.insert(2, ("classify", "assigned", "assigned", accepted, manager, {"valid": valid}))
    for action, src, dst, at, actor, data in steps:
        session.add(TicketEvent(ticket_id=t.id or 0, community_id=t.community_id, actor_id=actor, action=action,
                                from_status=src, to_status=dst, data=data, created_at=at))  # fmt: skip
    if overall is not None:
        at = closed + timedelta(minutes=5)
        session.add(TicketRating(ticket_id=t.id or 0, community_id=t.community_id, user_id=resident, overall=overall,
                                 speed=overall, attitude=overall, created_at=at, updated_at=at))  # fmt: skip
        session.add(TicketEvent(ticket_id=t.id or 0, community_id=t.community_id, actor_id=resident, action="rate",
                                from_status="closed", to_status="closed", data={"overall": overall}, created_at=at))  # fmt: skip
