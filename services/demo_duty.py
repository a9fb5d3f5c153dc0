"""Demo data for red property (红色物业): the party branch, five duty posts staffed, a roster per building,
a week of shifts with check-ins, one missed shift, the service-hours ledger and an activity.

Idempotent by natural keys: the organisation by community, posts by (community, category, description),
assignments by (post, user), contact preferences by user, shifts by (post, start), activities by
(community, title), sign-ups by (activity, user). The week of shifts is the seven local days starting
three days ago, so the demo always has past shifts (checked in and out, one missed) and coming ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.duty.checkins import credit, shift_hours
from services.duty.common import local_label, post_label
from services.duty.posts import extension_for
from services.duty.shifts import insert_shifts
from services.models import Building, Community, User, utcnow
from services.models.duty import (
    Activity,
    ActivitySignup,
    DutyAssignment,
    DutyCheckin,
    DutyContactPref,
    DutyPost,
    DutyShift,
    LedgerSource,
    PartyOrganisation,
    ShiftStatus,
    SignupStatus,
)
from services.notifications.outbox import notify

SECRETARY = "+8613800000007"
SUN, WU, ZHENG, MA = "+8613800000008", "+8613800000009", "+8613800000010", "+8613800000011"
HIDES_PHONE = ZHENG
ASSIGNED_FROM = date(2025, 7, 1)
EVENING = (time(19, 0), time(21, 0))

# (category, description, building numbers (empty: all), headcount, [(phone, role)],
#  weekly slots: [(ISO weekdays, start, end, phone)])
POSTS: tuple[tuple[str, str, tuple[int, ...], int, list[tuple[str, str]], list[Any]], ...] = (
    (
        "security_watch", "1–3 号楼夜间安全值守：巡查楼道、消防通道和电瓶车充电", (1, 2, 3), 2,
        [(SUN, "lead"), (ZHENG, "member")],
        [((1, 3, 5, 7), *EVENING, SUN), ((2, 4, 6), *EVENING, ZHENG)],
    ),
    (
        "security_watch", "4–6 号楼夜间安全值守：巡查楼道、消防通道和电瓶车充电", (4, 5, 6), 2,
        [(WU, "lead"), (MA, "member")],
        [((1, 3, 5, 7), *EVENING, WU), ((2, 4, 6), *EVENING, MA)],
    ),
    ("publicity", "宣传栏更新、政策宣讲、文明实践活动组织", (), 1, [(MA, "lead"), (SECRETARY, "member")],
     [((3,), time(15, 0), time(17, 0), MA)]),
    ("sanitation_supervision", "督促垃圾分类、楼道堆物清理，监督保洁质量", (), 1, [(SUN, "lead")],
     [((6,), time(9, 0), time(11, 0), SUN)]),
    ("dispute_mediation", "邻里纠纷调解：噪音、漏水、停车", (), 1, [(WU, "lead"), (SECRETARY, "member")],
     [((2,), time(14, 0), time(16, 0), WU)]),
    ("emergency_rescue", "汛期、冰冻、火情等突发情况应急处置", (), 2, [(ZHENG, "lead"), (SUN, "member")],
     [((7,), time(9, 0), time(11, 0), ZHENG)]),
)  # fmt: skip


async def seed(session: AsyncSession, community_id: int) -> None:
    community = await session.get(Community, community_id)
    assert community is not None
    zone = ZoneInfo(community.time_zone)
    phones = [SECRETARY, SUN, WU, ZHENG, MA, *[f"+86137000000{n:02d}" for n in range(1, 9)]]
    users = {u.phone: u for u in (await session.exec(select(User).where(col(User.phone).in_(phones)))).all()}
    ids = {phone: u.id or 0 for phone, u in users.items()}
    if SECRETARY not in ids:
        return
    await _organisation(session, community_id, ids[SECRETARY])
    buildings = {
        b.name: b.id or 0
        for b in (await session.exec(select(Building).where(Building.community_id == community_id))).all()
    }
    await _contact_prefs(session, [ids[p] for p in (SUN, WU, ZHENG, MA) if p in ids])
    today = utcnow().astimezone(zone).date()
    days = [today - timedelta(days=3) + timedelta(days=i) for i in range(7)]
    for category, description, numbers, headcount, holders, slots in POSTS:
        post = await _post(session, community_id, category, description, numbers, headcount, buildings, ids)
        for phone, role in holders:
            await _assignment(session, post, ids[phone], role)
        for weekdays, start, end, phone in slots:
            for day in days:
                if day.isoweekday() in weekdays:
                    await _shift(session, post, day, start, end, zone, ids[phone], ids[SECRETARY])
    await session.flush()
    await _past_shifts(session, community, zone, ids[SECRETARY])
    await _activities(session, community_id, today, zone, ids)
    await session.flush()


async def _organisation(session: AsyncSession, community_id: int, secretary_id: int) -> None:
    found = (
        await session.exec(select(PartyOrganisation).where(PartyOrganisation.community_id == community_id))
    ).first()
    if found is None:
        session.add(
            PartyOrganisation(
                community_id=community_id,
                name="幸福里小区党支部",
                secretary_id=secretary_id,
                created_by=secretary_id,
            )
        )
        await session.flush()


async def _contact_prefs(session: AsyncSession, user_ids: list[int]) -> None:
    hidden = (await session.exec(select(User.id).where(User.phone == HIDES_PHONE))).first()
    existing = set((await session.exec(select(DutyContactPref.user_id))).all())
    for user_id in user_ids:
        if user_id not in existing:
            session.add(
                DutyContactPref(
                    user_id=user_id,
                    share_phone=user_id != hidden,
                    allow_message=True,
                    extension=extension_for(user_id),
                )
            )
    await session.flush()


async def _post(
    session: AsyncSession,
    community_id: int,
    category: str,
    description: str,
    numbers: tuple[int, ...],
    headcount: int,
    buildings: dict[str, int],
    ids: dict[str, int],
) -> DutyPost:
    found = (
        await session.exec(
            select(DutyPost).where(
                DutyPost.community_id == community_id,
                DutyPost.category == category,
                DutyPost.description == description,
            )
        )
    ).first()
    if found is not None:
        return found
    post = DutyPost(
        community_id=community_id,
        category=category,
        description=description,
        building_ids=[buildings[f"{n}号楼"] for n in numbers if f"{n}号楼" in buildings],
        headcount=headcount,
        created_by=ids[SECRETARY],
    )
    session.add(post)
    await session.flush()
    return post


async def _assignment(session: AsyncSession, post: DutyPost, user_id: int, role: str) -> None:
    found = (
        await session.exec(
            select(DutyAssignment.id).where(
                DutyAssignment.post_id == post.id, DutyAssignment.user_id == user_id
            )
        )
    ).first()
    if found is None:
        session.add(DutyAssignment(post_id=post.id or 0, user_id=user_id, role=role, starts_on=ASSIGNED_FROM))
        await session.flush()


async def _shift(
    session: AsyncSession,
    post: DutyPost,
    day: date,
    start: time,
    end: time,
    zone: ZoneInfo,
    user_id: int,
    secretary_id: int,
) -> None:
    starts_at = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    ends_at = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    found = (
        await session.exec(
            select(DutyShift.id).where(DutyShift.post_id == post.id, DutyShift.starts_at == starts_at)
        )
    ).first()
    if found is None:
        await insert_shifts(session, post, [(starts_at, ends_at)], [user_id], secretary_id)
        await session.flush()


async def _past_shifts(
    session: AsyncSession, community: Community, zone: ZoneInfo, secretary_id: int
) -> None:
    """Past shifts get a check-in and check-out with hours in the ledger, except one flagged missed."""
    from services.models.duty import DutyShiftAssignee

    now = utcnow()
    cid = community.id or 0
    done = select(DutyCheckin.shift_id)
    rows = (
        await session.exec(
            select(DutyShift, DutyShiftAssignee.user_id)
            .join(DutyShiftAssignee, col(DutyShiftAssignee.shift_id) == DutyShift.id)
            .where(
                DutyShift.community_id == cid,
                DutyShift.status == ShiftStatus.scheduled,
                col(DutyShift.ends_at) <= now,
                col(DutyShift.id).not_in(done),
            )
            .order_by(col(DutyShift.starts_at), col(DutyShift.id))
        )
    ).all()
    any_missed = (
        await session.exec(
            select(DutyShift.id).where(DutyShift.community_id == cid, DutyShift.status == ShiftStatus.missed)
        )
    ).first()
    lat, lng = community.latitude, community.longitude
    for index, (shift, user_id) in enumerate(rows):
        if any_missed is None and index == len(rows) // 2:
            any_missed = shift.id
            shift.status, shift.missed_at = ShiftStatus.missed, shift.starts_at + timedelta(minutes=15)
            session.add(shift)
            post = await session.get(DutyPost, shift.post_id)
            await notify(
                session,
                [secretary_id],
                "duty",
                "duty.shift_missed",
                {
                    "shift_id": shift.id or 0,
                    "post": post_label(post) if post else "",
                    "start_local": local_label(shift.starts_at, zone),
                },
                f"duty:shift:{shift.id}:missed",
                community_id=cid,
            )
            continue
        checkin_at = shift.starts_at - timedelta(minutes=5 + index % 3 * 5)
        checkout_at = shift.ends_at - timedelta(minutes=index % 4 * 10)
        session.add(
            DutyCheckin(
                shift_id=shift.id or 0,
                user_id=user_id,
                checkin_at=checkin_at,
                checkout_at=checkout_at,
                lat=None if lat is None else lat + 0.0004 * (index % 3),
                lng=None if lng is None else lng - 0.0003 * (index % 2),
                distance_m=None if lat is None else round(44.5 * (index % 3)),
                note="到岗，情况正常" if index % 2 else "巡查楼道，清理消防通道堆物一处",
            )
        )
        shift.status = ShiftStatus.done
        session.add(shift)
        await session.flush()
        await credit(
            session,
            user_id,
            cid,
            LedgerSource.shift,
            shift.id or 0,
            shift_hours(shift, checkin_at, checkout_at),
            checkout_at,
        )


async def _activities(
    session: AsyncSession, community_id: int, today: date, zone: ZoneInfo, ids: dict[str, int]
) -> None:
    residents = [ids[p] for p in (f"+86137000000{n:02d}" for n in range(1, 9)) if p in ids]
    coming = await _activity(
        session, community_id, "垃圾分类宣传进楼道", "党员带头，入户讲解垃圾分类", "小区中心广场",
        datetime.combine(today + timedelta(days=3), time(9, 30), tzinfo=zone), 2, 3, ids[SECRETARY],
    )  # fmt: skip
    # Five sign up for three places: two wait.
    for n, user_id in enumerate(residents[:5]):
        status = SignupStatus.confirmed if n < 3 else SignupStatus.waiting
        await _signup(session, coming, user_id, status, n)
    past = await _activity(
        session, community_id, "楼道清洁志愿服务", "清理楼道小广告和堆物", "1–3 号楼",
        datetime.combine(today - timedelta(days=2), time(9, 0), tzinfo=zone), 2, 10, ids[SECRETARY],
    )  # fmt: skip
    for n, user_id in enumerate([ids[SUN], *residents[:2]]):
        if await _signup(session, past, user_id, SignupStatus.attended, n):
            await credit(
                session, user_id, community_id, LedgerSource.activity, past.id or 0, past.hours, past.ends_at
            )


async def _activity(
    session: AsyncSession,
    community_id: int,
    title: str,
    description: str,
    place: str,
    starts: datetime,
    hours: int,
    capacity: int,
    secretary_id: int,
) -> Activity:
    found = (
        await session.exec(
            select(Activity).where(Activity.community_id == community_id, Activity.title == title)
        )
    ).first()
    if found is not None:
        return found
    row = Activity(
        community_id=community_id,
        title=title,
        description=description,
        place=place,
        starts_at=starts.astimezone(UTC),
        ends_at=(starts + timedelta(hours=hours)).astimezone(UTC),
        capacity=capacity,
        hours=Decimal(hours).quantize(Decimal("0.01")),
        created_by=secretary_id,
    )
    session.add(row)
    await session.flush()
    return row


async def _signup(session: AsyncSession, activity: Activity, user_id: int, status: str, order: int) -> bool:
    found = (
        await session.exec(
            select(ActivitySignup.id).where(
                ActivitySignup.activity_id == activity.id, ActivitySignup.user_id == user_id
            )
        )
    ).first()
    if found is not None:
        return False
    at = activity.created_at + timedelta(seconds=order)
    session.add(ActivitySignup(activity_id=activity.id or 0, user_id=user_id, status=status, signed_up_at=at))
    await session.flush()
    return True
