"""Demo KPI history: a year of repairs, complaints, ratings and greening inspections for the demo
community, generated deterministically (one seeded random stream per month), then rolled up.

The history reads like a real estate's year (services.demo_history): 36 residents across every
building report what the season brings (burst pipes in January, roof leaks in the plum rains,
mosquitoes and overgrown shrubs in summer, typhoon damage in September, leaves in the gutters in
autumn), some by phone through the front desk; technicians write what they fixed and residents say
what they thought. Every row passes the API's own request validation (tests/services/test_demo_valid.py).

Eleven months meet every target; the second month back (recent enough to alert on: only the last
three closed months do) has four late repairs and two failed greening items, so it is below target
and its roll-up sends the property manager and the community admin a `kpi.below_target`
notification. Rows are inserted directly but follow the ticket model: due times
come from the community's SLA policy (services.tickets.deadlines.initial), every step has its
ticket_event, ratings mirror ticket.rating_overall. Idempotent: a community whose history residents
exist already has its history and gets only the roll-up again (which sends nothing twice).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo_history as history
from services.kpis import jobs, periods
from services.models import Building, Community, Household, Membership, MembershipStatus, Role, User, utcnow
from services.models.tickets import Inspection, InspectionItem, Ticket, TicketEvent, TicketRating
from services.tickets.deadlines import initial, policy_for

MANAGER, TECHNICIAN, BUILDER = "+8613800000001", "+8613800000002", "+8613800000003"
CHAIR = "+8613800000004"  # 陈秀英, 业委会主任: approved the history residents' claims
BAD_MONTH_BACK = 2  # counting back from the current month (1 = last month)
# Plumbing and electrical go to 李强, everything else to 赵磊 (services.demo.PEOPLE).
ELECTRIC_TRADES = {"plumbing", "electrical", "elevator"}
PHONE_SHARE = 0.15  # reported by phone at the front desk (elderly residents), filed by the manager


def months_back(today: date, n: int) -> date:
    return periods.months_before(today, n)


async def seed(session: AsyncSession, community_id: int) -> None:
    c = await session.get(Community, community_id)
    if c is None:
        return
    people = {
        u.phone: u
        for u in (
            await session.exec(select(User).where(col(User.phone).in_([MANAGER, TECHNICIAN, BUILDER, CHAIR])))
        ).all()
    }
    if len(people) < 4:
        return
    first_reporter = history.reporters()[0].phone
    exists = (await session.exec(select(User.id).where(User.phone == first_reporter))).first()
    if exists is None:
        homes = await _homes(session, community_id)
        if not homes:
            return
        tz = ZoneInfo(c.time_zone)
        today = utcnow().astimezone(tz).date()
        reporters = await _reporters(session, c, homes, people[CHAIR], _at(months_back(today, 13), 1, 9, tz))
        for back in range(12, 0, -1):
            await _month(session, c, people, reporters, tz, months_back(today, back), back == BAD_MONTH_BACK)
        await session.flush()
    await jobs.rollup(session, community_ids=[community_id])


async def _homes(session: AsyncSession, community_id: int) -> dict[tuple[int, int, str], Household]:
    out: dict[tuple[int, int, str], Household] = {}
    for h, building in (
        await session.exec(
            select(Household, Building.name)
            .join(Building, col(Building.id) == Household.building_id)
            .where(Household.community_id == community_id)
        )
    ).all():
        try:
            out[(int(building.removesuffix("号楼")), int(h.entrance.removesuffix("单元")), h.room)] = h
        except ValueError:
            continue
    return out


async def _reporters(
    session: AsyncSession,
    c: Community,
    homes: dict[tuple[int, int, str], Household],
    chair: User,
    verified_at: datetime,
) -> list[tuple[User, Household]]:
    """The history's residents: app users with a verified claim on their home (approved by the chair)."""
    out = []
    for r in history.reporters():
        home = homes.get(r.home)
        if home is None:
            continue
        user = User(phone=r.phone, name=r.name, created_at=verified_at)
        session.add(user)
        await session.flush()
        session.add(
            Membership(
                user_id=user.id or 0,
                community_id=c.id,
                role=Role.resident,
                household_id=home.id,
                relation=r.relation,
                status=MembershipStatus.verified,
                decided_by=chair.id,
                verified_at=verified_at,
                created_at=verified_at,
            )
        )
        out.append((user, home))
    await session.flush()
    return out


def _at(first: date, day: int, hour: int, tz: ZoneInfo) -> datetime:
    return datetime(first.year, first.month, day, hour, 0, tzinfo=tz).astimezone(UTC)


async def _month(
    session: AsyncSession,
    c: Community,
    people: dict[str, User],
    reporters: list[tuple[User, Household]],
    tz: ZoneInfo,
    first: date,
    bad: bool,
) -> None:
    rng = random.Random(f"linli-kpi-demo-{first.isoformat()}")
    staff = Staff(*(people[p].id or 0 for p in (MANAGER, TECHNICIAN, BUILDER)))
    n = history.REPAIRS_PER_MONTH[first.month]
    late = set(rng.sample(range(n), 4)) if bad else set()
    unrated = set(rng.sample(range(n), max(1, n // 10)))
    for i in range(n):
        created = _at(first, rng.randrange(1, 22), rng.randrange(7, 21), tz)
        issue = history.repair_for(rng, first.month)
        reporter = rng.choice(reporters)
        spec = Spec("repair", issue.category, issue.title, issue.description, issue.fix)
        await _ticket(session, c, spec, reporter, created, staff, rng, late=i in late, rated=i not in unrated)
    # Two complaints the manager found valid and one of any kind (valid ones are always there, so the
    # complaint-handling rate has a denominator every month).
    valid = [k for k in history.COMPLAINTS if k.valid]
    for k in [*rng.sample(valid, 2), rng.choice(history.COMPLAINTS)]:
        created = _at(first, rng.randrange(1, 20), rng.randrange(9, 17), tz)
        reporter = rng.choice(reporters)
        spec = Spec("complaint", k.category, k.title, k.description, k.fix, k.valid, k.verdict)
        await _ticket(session, c, spec, reporter, created, staff, rng)
    items = history.GREENING_ITEMS[history.season(first.month)]
    for week in range(4):
        at = _at(first, 3 + week * 7, 10, tz)
        ins = Inspection(community_id=c.id or 0, kind="greening", area=history.GREENING_AREAS[week],
                         inspector_id=staff.builder, note=f"{first.month}月第{week + 1}周绿化巡查",
                         inspected_at=at, created_at=at)  # fmt: skip
        session.add(ins)
        await session.flush()
        for j, name in enumerate(items):
            failed = bad and week == 1 and j < 2
            note = "修剪不到位，已要求绿化班组 3 日内整改" if failed else ""
            session.add(InspectionItem(inspection_id=ins.id or 0, community_id=c.id or 0, kind="greening",
                                       name=name, passed=not failed, note=note, created_at=at))  # fmt: skip


@dataclass(frozen=True)
class Staff:
    manager: int
    technician: int  # plumbing, electrical, lifts
    builder: int  # everything else


@dataclass(frozen=True)
class Spec:
    kind: str
    category: str
    title: str
    description: str
    fix: str
    valid: bool = True
    verdict: str = ""


async def _ticket(
    session: AsyncSession, c: Community, spec: Spec, reporter: tuple[User, Household], created: datetime,
    staff: Staff, rng: random.Random, late: bool = False, rated: bool = True,
) -> None:  # fmt: skip
    user, home = reporter
    resident = user.id or 0
    by_phone = rng.random() < PHONE_SHARE
    creator = staff.manager if by_phone else resident
    tech = staff.technician if spec.category in ELECTRIC_TRADES else staff.builder
    where = next(r.home for r in history.reporters() if r.phone == user.phone)
    t = Ticket(community_id=c.id or 0, household_id=home.id, building_id=home.building_id, kind=spec.kind,
               category=spec.category, priority="normal", status="closed", title=history.fill(spec.title, where),
               description=history.fill(spec.description, where), reporter_id=resident, created_by_id=creator,
               intake_channel="phone" if by_phone else "app", assignee_id=tech, created_at=created,
               complaint_target=spec.category if spec.kind == "complaint" else None)  # fmt: skip
    policy = await policy_for(session, t)
    for key, value in initial(created, policy).items():
        setattr(t, key, value)
    assert t.response_due_at is not None and t.resolution_due_at is not None
    accepted = created + (t.response_due_at - created) * rng.uniform(0.05, 0.6)
    started = accepted + timedelta(minutes=rng.choice([20, 30, 45, 60]))
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
    t.resolution_note = history.fill(spec.fix, where)
    if spec.kind == "complaint":
        t.complaint_valid, t.validity_reason, t.classified_by_id, t.classified_at = (
            spec.valid,
            spec.verdict,
            staff.manager,
            accepted,
        )
    session.add(t)
    await session.flush()
    steps: list[tuple[str, str | None, str, datetime, int, dict[str, Any], str | None]] = [
        ("create", None, "submitted", created, creator,
         {"intake_channel": t.intake_channel, "on_behalf": by_phone, "policy_id": policy.policy_id}, None),
        ("assign", "submitted", "assigned", accepted, staff.manager, {"assignee_id": tech, "mode": "assign"}, None),
        ("start", "assigned", "in_progress", started, tech, {}, None),
        ("resolve", "in_progress", "resolved", resolved, tech, {"note": t.resolution_note}, None),
        ("close", "resolved", "closed", closed, resident, {"auto": False}, None),
    ]  # fmt: skip
    if spec.kind == "complaint":
        steps.insert(2, ("classify", "assigned", "assigned", accepted, staff.manager, {"valid": spec.valid},
                         spec.verdict))  # fmt: skip
    for action, src, dst, at, actor, data, reason in steps:
        session.add(TicketEvent(ticket_id=t.id or 0, community_id=t.community_id, actor_id=actor, action=action,
                                from_status=src, to_status=dst, reason=reason, data=data, created_at=at))  # fmt: skip
    if overall is not None:
        at = closed + timedelta(minutes=rng.randrange(5, 600))
        speed = overall if late else rng.choice([overall, 5])
        attitude = rng.choice([overall, 5])
        comment = history.comment_for(rng, overall)
        session.add(TicketRating(ticket_id=t.id or 0, community_id=t.community_id, user_id=resident, overall=overall,
                                 speed=speed, attitude=attitude, comment=comment, created_at=at, updated_at=at))  # fmt: skip
        session.add(TicketEvent(ticket_id=t.id or 0, community_id=t.community_id, actor_id=resident, action="rate",
                                from_status="closed", to_status="closed", data={"overall": overall}, created_at=at))  # fmt: skip
