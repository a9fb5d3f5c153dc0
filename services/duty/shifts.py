"""Shifts: one shift, or a weekly recurrence generated in the community's time zone (stored UTC).

Rules: a shift ends after it starts; a member is never on two shifts overlapping in time; assignees
hold the post on the shift's local date; one shift per post per start time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import require_community
from services.communities.common import flush_unique
from services.duty.common import MANAGERS, check_no_overlap, load_post, post_label, zone_of
from services.duty.schemas import Recurrence, ShiftBatchOut, ShiftCreate, ShiftOut, ShiftPerson
from services.errors import Conflict, InvalidInput
from services.models import User, utcnow
from services.models.duty import DutyAssignment, DutyPost, DutyShift, DutyShiftAssignee
from services.pagination import at_id_after, next_at_id_cursor
from services.runtime import Ctx
from services.schemas import Page

MAX_DAYS = 366
MAX_SHIFTS = 200

Slot = tuple[datetime, datetime]


def generate(rule: Recurrence, zone: ZoneInfo) -> list[Slot]:
    """Every (start, end) of the rule, as UTC instants, from local wall-clock times in `zone`."""
    if rule.end_time <= rule.start_time:
        raise InvalidInput("duty.shift_ends_before_start")
    if rule.to_date < rule.from_date:
        raise InvalidInput("duty.invalid_dates")
    if (rule.to_date - rule.from_date).days >= MAX_DAYS:
        raise InvalidInput("duty.recurrence_too_long")
    days = set(rule.weekdays)
    slots: list[Slot] = []
    day = rule.from_date
    while day <= rule.to_date:
        if day.isoweekday() in days:
            start = datetime.combine(day, rule.start_time, tzinfo=zone)
            end = datetime.combine(day, rule.end_time, tzinfo=zone)
            slots.append((start.astimezone(UTC), end.astimezone(UTC)))
        day += timedelta(days=1)
    if len(slots) > MAX_SHIFTS:
        raise InvalidInput("duty.recurrence_too_long")
    return slots


async def shift_outs(session: AsyncSession, shifts: Sequence[DutyShift]) -> list[ShiftOut]:
    """Shifts with their post's label and their members' names (three statements for any count)."""
    ids = [s.id for s in shifts]
    people: dict[int, list[tuple[int, str]]] = defaultdict(list)
    labels: dict[int, str] = {}
    if ids:
        for shift_id, user_id, name in (
            await session.exec(
                select(DutyShiftAssignee.shift_id, DutyShiftAssignee.user_id, User.name)
                .join(User, col(User.id) == DutyShiftAssignee.user_id)
                .where(col(DutyShiftAssignee.shift_id).in_(ids))
                .order_by(col(DutyShiftAssignee.user_id))
            )
        ).all():
            people[shift_id].append((user_id, name))
        posts = (
            await session.exec(select(DutyPost).where(col(DutyPost.id).in_({s.post_id for s in shifts})))
        ).all()
        labels = {p.id or 0: post_label(p) for p in posts}
    return [
        ShiftOut(
            id=s.id or 0,
            post_id=s.post_id,
            post_name=labels.get(s.post_id, ""),
            community_id=s.community_id,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            status=s.status,
            recurrence_id=s.recurrence_id,
            assignee_ids=[user_id for user_id, _ in people.get(s.id or 0, [])],
            assignees=[ShiftPerson(user_id=u, name=n) for u, n in people.get(s.id or 0, [])],
        )
        for s in shifts
    ]


async def _check_assignees(
    session: AsyncSession, post: DutyPost, user_ids: list[int], slots: list[Slot], zone: ZoneInfo
) -> None:
    held: dict[int, list[DutyAssignment]] = defaultdict(list)
    for a in (
        await session.exec(
            select(DutyAssignment).where(
                DutyAssignment.post_id == post.id, col(DutyAssignment.user_id).in_(user_ids)
            )
        )
    ).all():
        held[a.user_id].append(a)
    for start, _ in slots:
        day: date = start.astimezone(zone).date()
        for user_id in user_ids:
            if not any(a.starts_on <= day and (a.ends_on is None or a.ends_on >= day) for a in held[user_id]):
                raise InvalidInput(
                    "duty.assignee_not_on_post", details={"user_id": user_id, "date": day.isoformat()}
                )


async def insert_shifts(
    session: AsyncSession,
    post: DutyPost,
    slots: list[Slot],
    user_ids: list[int],
    created_by: int,
    recurrence_id: str | None = None,
) -> list[DutyShift]:
    """Insert shifts with their assignees; callers check the rules first (the demo seed reuses this)."""
    assert post.id is not None
    rows = [
        DutyShift(
            post_id=post.id,
            community_id=post.community_id,
            starts_at=start,
            ends_at=end,
            recurrence_id=recurrence_id,
            created_by=created_by,
        )
        for start, end in slots
    ]
    session.add_all(rows)
    await session.flush()
    session.add_all(
        [DutyShiftAssignee(shift_id=row.id or 0, user_id=user_id) for row in rows for user_id in user_ids]
    )
    return rows


async def create_shifts(ctx: Ctx, post_id: int, body: ShiftCreate) -> ShiftBatchOut:
    post = await load_post(ctx, post_id)
    principal = ctx.require_principal()
    require_community(principal, post.community_id, MANAGERS)
    zone = await zone_of(ctx.session, post.community_id)
    now = utcnow()
    recurrence_id: str | None = None
    if body.recurrence is not None:
        # Occurrences already over are skipped, so "from today" works at any time of day.
        slots = [s for s in generate(body.recurrence, zone) if s[1] > now]
        if not slots:
            raise InvalidInput("duty.recurrence_empty")
        recurrence_id = uuid.uuid4().hex
    else:
        assert body.starts_at is not None and body.ends_at is not None
        if body.ends_at <= body.starts_at:
            raise InvalidInput("duty.shift_ends_before_start")
        if body.ends_at <= now:
            raise InvalidInput("duty.shift_in_past")
        slots = [(body.starts_at.astimezone(UTC), body.ends_at.astimezone(UTC))]
    user_ids = sorted(set(body.assignee_ids))
    await _check_assignees(ctx.session, post, user_ids, slots, zone)
    for start, end in slots:
        await check_no_overlap(ctx.session, user_ids, start, end)
    taken = (
        await ctx.session.exec(
            select(DutyShift.starts_at).where(
                DutyShift.post_id == post_id, col(DutyShift.starts_at).in_([s for s, _ in slots])
            )
        )
    ).first()
    if taken is not None:
        raise Conflict("duty.shift_exists", details={"starts_at": taken.isoformat()})
    rows = await insert_shifts(ctx.session, post, slots, user_ids, principal.user_id, recurrence_id)
    await flush_unique(ctx, "duty.shift_exists")
    return ShiftBatchOut(recurrence_id=recurrence_id, items=await shift_outs(ctx.session, rows))


async def list_shifts(
    ctx: Ctx, community_id: int, start: date | None, end: date | None, limit: int, cursor: str | None
) -> Page[ShiftOut]:
    """Shifts starting within local dates [start, end] (default: the current Monday–Sunday week), in
    time order, in keyset pages on (starts_at, id)."""
    require_community(ctx.require_principal(), community_id)
    zone = await zone_of(ctx.session, community_id)
    today = utcnow().astimezone(zone).date()
    start = start or today - timedelta(days=today.weekday())
    end = end or start + timedelta(days=6)
    if end < start:
        raise InvalidInput("duty.invalid_dates")
    if (end - start).days > 62:
        raise InvalidInput("duty.recurrence_too_long")
    lo = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    stmt = select(DutyShift).where(
        DutyShift.community_id == community_id,
        col(DutyShift.starts_at) >= lo,
        col(DutyShift.starts_at) < hi,
    )
    after = at_id_after(cursor)
    if after is not None:
        at, last = after
        stmt = stmt.where(
            sa.or_(
                col(DutyShift.starts_at) > at,
                sa.and_(col(DutyShift.starts_at) == at, col(DutyShift.id) > last),
            )
        )
    rows = (
        await ctx.session.exec(stmt.order_by(col(DutyShift.starts_at), col(DutyShift.id)).limit(limit))
    ).all()
    tail = (rows[-1].starts_at, rows[-1].id or 0) if rows else None
    return Page(
        items=await shift_outs(ctx.session, rows), next_cursor=next_at_id_cursor(tail, len(rows), limit)
    )
