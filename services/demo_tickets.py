"""Demo tickets for 幸福里小区: one repair in progress, one resolved and waiting for the resident's
rating, one complaint the manager classified invalid (and rejected), and ONE OVERDUE repair whose
resolution deadline passed two days ago, so the scheduler's first SLA sweep after `make run` warns,
breaches and escalates it (the manager, then the community admin and the committee hear of it).

`seed(session, community_id)` is idempotent: a ticket is found by (community, title) and only created
when missing. Times are relative to the moment of seeding. Due times come from the ticket's SLA policy
(services.tickets.deadlines, the 24x7 defaults unless the community has its own); every status
change has its ticket_event row with the same data the lifecycle engine writes. The SLA bits
(`sla_state`) are left at 0 on purpose: the sweep sets them. No inbox notifications are written for
this history (it happened "before" the demo); the sweep's notices are the first ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.models.tickets  # noqa: F401  (registers the tables)
from services.demo import PEOPLE, Home, building_name, entrance_name
from services.models import Building, Household, User, utcnow
from services.models.tickets import Ticket, TicketStatus
from services.tickets import deadlines
from services.tickets.events import write_event

MANAGER = "+8613800000001"  # 王建国
PLUMBER = "+8613800000002"  # 李强, technician (plumbing/electric)
BUILDER = "+8613800000003"  # 赵磊, technician (building)

IN_PROGRESS_TITLE = "卫生间下水管漏水"
RESOLVED_TITLE = "入户门锁芯损坏，钥匙拧不动"
INVALID_COMPLAINT_TITLE = "楼下邻居夜间广场舞音响太吵"
OVERDUE_TITLE = "3号楼1单元楼道声控灯不亮"
TITLES = (IN_PROGRESS_TITLE, RESOLVED_TITLE, INVALID_COMPLAINT_TITLE, OVERDUE_TITLE)


@dataclass(frozen=True)
class Step:
    """One lifecycle step `after` the ticket was filed: action, actor phone, new status, extras."""

    after: timedelta
    action: str
    actor: str | None
    to_status: str | None = None  # None: the status does not change
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # ticket columns set by the step (offsets)


@dataclass(frozen=True)
class DemoTicket:
    title: str
    reporter: str
    kind: str
    category: str
    priority: str
    description: str
    age: timedelta  # how long ago it was filed
    steps: tuple[Step, ...]
    complaint_target: str | None = None


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _accept(after: timedelta) -> Step:
    return Step(after, "accept", MANAGER, TicketStatus.accepted, values={"accepted_at": after})


def _assign(after: timedelta, technician: str) -> Step:
    return Step(
        after,
        "assign",
        MANAGER,
        TicketStatus.assigned,
        data={"assignee_id": technician, "previous_assignee_id": None, "mode": "assign"},
        values={"assignee_id": technician, "assigned_at": after},
    )


def _start(after: timedelta, technician: str) -> Step:
    return Step(after, "start", technician, TicketStatus.in_progress, values={"started_at": after})


TICKETS: tuple[DemoTicket, ...] = (
    DemoTicket(
        title=IN_PROGRESS_TITLE,
        reporter="+8613700000007",  # 杨帆, tenant of 5号楼2单元401
        kind="repair",
        category="plumbing",
        priority="normal",
        description="卫生间地漏下方的下水管接口渗水，楼下 301 天花板有水印。",
        age=timedelta(hours=6),
        steps=(
            _accept(_minutes(20)),
            _assign(_minutes(25), PLUMBER),
            _start(timedelta(hours=2), PLUMBER),
        ),
    ),
    DemoTicket(
        title=RESOLVED_TITLE,
        reporter="+8613700000004",  # 张伟, owner of 2号楼2单元101
        kind="repair",
        category="door_window",
        priority="high",
        description="入户防盗门锁芯卡死，家里老人进出不便，请尽快处理。",
        age=timedelta(hours=28),
        steps=(
            _accept(_minutes(15)),
            _assign(_minutes(20), BUILDER),
            _start(timedelta(hours=3), BUILDER),
            Step(
                timedelta(hours=5),
                "resolve",
                BUILDER,
                TicketStatus.resolved,
                data={"note": "更换 C 级锁芯并配钥匙 3 把，开关门测试正常。", "after_photos": []},
                values={
                    "resolved_at": timedelta(hours=5),
                    "resolution_note": "更换 C 级锁芯并配钥匙 3 把，开关门测试正常。",
                },
            ),
        ),
    ),
    DemoTicket(
        title=INVALID_COMPLAINT_TITLE,
        reporter="+8613700000003",  # 李桂芳, owner of 1号楼2单元502
        kind="complaint",
        category="neighbour",
        priority="normal",
        complaint_target="neighbour",
        description="每晚 8 点到 10 点小区广场有人放广场舞音乐，声音很大，影响孩子学习。",
        age=timedelta(days=5),
        steps=(
            _accept(_minutes(40)),
            Step(
                timedelta(hours=3),
                "classify",
                MANAGER,
                reason="属邻里活动噪音，不属物业服务质量问题；已转居委会协调活动时间与音量。",
                data={"valid": False, "previous": None},
                values={
                    "complaint_valid": False,
                    "validity_reason": "属邻里活动噪音，不属物业服务质量问题；已转居委会协调活动时间与音量。",
                    "classified_by_id": MANAGER,
                    "classified_at": timedelta(hours=3),
                },
            ),
            Step(
                timedelta(hours=3, minutes=5),
                "reject",
                MANAGER,
                TicketStatus.rejected,
                reason="invalid",
                data={"note": "已转居委会（黄敏）协调，广场舞音量限制在 60 分贝、21:00 前结束。"},
                values={"closed_at": timedelta(hours=3, minutes=5)},
            ),
        ),
    ),
    DemoTicket(
        title=OVERDUE_TITLE,
        reporter="+8613700000005",  # 刘洋, owner of 3号楼1单元602
        kind="repair",
        category="electrical",
        priority="normal",
        description="1 楼到 6 楼的楼道声控灯都不亮，晚上上下楼看不见台阶，老人担心摔倒。",
        age=timedelta(days=4),
        steps=(
            _accept(timedelta(hours=1)),
            _assign(timedelta(hours=1, minutes=5), BUILDER),
            _start(timedelta(hours=20), BUILDER),
        ),
    ),
)


async def _user_ids(session: AsyncSession, phones: set[str]) -> dict[str, int]:
    rows = (await session.exec(select(User.id, User.phone).where(col(User.phone).in_(sorted(phones))))).all()
    return {phone: int(uid) for uid, phone in rows if uid is not None}


async def _household(session: AsyncSession, community_id: int, home: Home) -> Household | None:
    b, e, room = home
    row: Household | None = (
        await session.exec(
            select(Household)
            .join(Building, col(Building.id) == col(Household.building_id))
            .where(
                Household.community_id == community_id,
                Building.name == building_name(b),
                Household.entrance == entrance_name(e),
                Household.room == room,
            )
        )
    ).first()
    return row


def _resolve(value: Any, created: datetime, people: dict[str, int]) -> Any:
    """Offsets become instants after `created`; demo phones become user ids."""
    if isinstance(value, timedelta):
        return created + value
    if isinstance(value, str) and value in people:
        return people[value]
    return value


async def _create(
    session: AsyncSession, community_id: int, spec: DemoTicket, people: dict[str, int], now: datetime
) -> None:
    home = next(p.home for p in PEOPLE if p.phone == spec.reporter)
    household = await _household(session, community_id, home) if home else None
    reporter = people[spec.reporter]
    created = now - spec.age
    t = Ticket(
        community_id=community_id,
        household_id=household.id if household else None,
        building_id=household.building_id if household else None,
        kind=spec.kind,
        category=spec.category,
        priority=spec.priority,
        title=spec.title,
        description=spec.description,
        complaint_target=spec.complaint_target,
        reporter_id=reporter,
        created_by_id=reporter,
        created_at=created,
        updated_at=created,
    )
    policy = await deadlines.policy_for(session, t)
    for key, value in deadlines.initial(created, policy).items():
        setattr(t, key, value)
    session.add(t)
    await session.flush()
    await write_event(
        session,
        t,
        "create",
        actor_id=reporter,
        from_status=None,
        to_status=t.status,
        data={"intake_channel": t.intake_channel, "on_behalf": False, "policy_id": policy.policy_id},
        at=created,
    )
    for step in spec.steps:
        at = created + step.after
        from_status = t.status
        for key, value in step.values.items():
            setattr(t, key, _resolve(value, created, people))
        if step.to_status is not None:
            t.status = step.to_status
        t.version += 1  # the engine bumps the version on every applied action
        t.updated_at = at
        await write_event(
            session,
            t,
            step.action,
            actor_id=_resolve(step.actor, created, people) if step.actor else None,
            from_status=from_status,
            to_status=t.status,
            reason=step.reason,
            data={k: _resolve(v, created, people) for k, v in step.data.items()},
            at=at,
        )
    session.add(t)
    await session.flush()


async def seed(session: AsyncSession, community_id: int) -> None:
    phones = {MANAGER, PLUMBER, BUILDER, *(spec.reporter for spec in TICKETS)}
    people = await _user_ids(session, phones)
    if set(people) != phones:
        return  # the people seed has not run: nothing to hang tickets on
    existing = set(
        (
            await session.exec(
                select(Ticket.title).where(
                    Ticket.community_id == community_id, col(Ticket.title).in_(list(TITLES))
                )
            )
        ).all()
    )
    now = utcnow()
    for spec in TICKETS:
        if spec.title not in existing:
            await _create(session, community_id, spec, people, now)
    await session.flush()


__all__ = ["OVERDUE_TITLE", "TICKETS", "TITLES", "seed"]
