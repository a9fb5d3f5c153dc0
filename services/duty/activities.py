"""Volunteer activities (文明实践活动): publish, sign up (a waiting list when full), cancel (the first
waiting is promoted), record attendance (volunteer hours go to the service-hours ledger).

Sign-ups and cancellations lock the activity row (PostgreSQL `FOR UPDATE`; SQLite serialises writers),
so two people racing for the last place cannot both get it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlmodel import col, select

from services import audit
from services.access import community_filter, require_community
from services.communities.common import after_id, load_community, page
from services.duty.checkins import credit
from services.duty.common import MANAGERS, local_label, zone_of
from services.duty.schemas import ActivityCreate, ActivityOut, AttendanceIn, AttendanceOut, SignupOut
from services.errors import Conflict, InvalidInput, NotFound
from services.models import Membership, MembershipStatus, utcnow
from services.models.duty import Activity, ActivitySignup, LedgerSource, SignupStatus
from services.notifications.outbox import notify
from services.runtime import Ctx
from services.schemas import Page

HOLDING = (SignupStatus.confirmed, SignupStatus.attended)
ACTIVE = (SignupStatus.confirmed, SignupStatus.waiting, SignupStatus.attended)


async def _counts(ctx: Ctx, activity_ids: list[int]) -> dict[tuple[int, str], int]:
    if not activity_ids:
        return {}
    rows = (
        await ctx.session.exec(
            select(ActivitySignup.activity_id, ActivitySignup.status, sa.func.count())
            .where(col(ActivitySignup.activity_id).in_(activity_ids))
            .group_by(col(ActivitySignup.activity_id), col(ActivitySignup.status))
        )
    ).all()
    return {(a, s): int(n) for a, s, n in rows}


def _out(a: Activity, counts: dict[tuple[int, str], int]) -> ActivityOut:
    aid = a.id or 0
    return ActivityOut(
        id=aid,
        community_id=a.community_id,
        title=a.title,
        description=a.description,
        place=a.place,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        capacity=a.capacity,
        hours=a.hours,
        confirmed=sum(counts.get((aid, s), 0) for s in HOLDING),
        waiting=counts.get((aid, SignupStatus.waiting), 0),
        created_at=a.created_at,
    )


async def _load(ctx: Ctx, activity_id: int, *, lock: bool = False) -> Activity:
    stmt = select(Activity).where(
        Activity.id == activity_id, community_filter(ctx.require_principal(), col(Activity.community_id))
    )
    row = (await ctx.session.exec(stmt.with_for_update() if lock else stmt)).first()
    if row is None:
        raise NotFound("activity.not_found")
    return row


async def create_activity(ctx: Ctx, community_id: int, body: ActivityCreate) -> ActivityOut:
    principal = ctx.require_principal()
    require_community(principal, community_id, MANAGERS)
    await load_community(ctx, community_id)
    if body.ends_at <= body.starts_at:
        raise InvalidInput("activity.ends_before_start")
    duration = Decimal((body.ends_at - body.starts_at).total_seconds()) / Decimal(3600)
    hours = body.hours or min(duration, Decimal(24)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    row = Activity(
        community_id=community_id,
        title=body.title,
        description=body.description,
        place=body.place,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        capacity=body.capacity,
        hours=hours,
        created_by=principal.user_id,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(ctx, "activity.create", "activity", row.id, community_id=community_id)
    return _out(row, {})


async def get_activity(ctx: Ctx, activity_id: int) -> ActivityOut:
    row = await _load(ctx, activity_id)
    return _out(row, await _counts(ctx, [activity_id]))


async def list_activities(ctx: Ctx, community_id: int, limit: int, cursor: str | None) -> Page[ActivityOut]:
    require_community(ctx.require_principal(), community_id)
    rows = (
        await ctx.session.exec(
            select(Activity)
            .where(Activity.community_id == community_id, col(Activity.id) > after_id(cursor))
            .order_by(col(Activity.id))
            .limit(limit)
        )
    ).all()
    counts = await _counts(ctx, [r.id or 0 for r in rows])
    return page([_out(r, counts) for r in rows], [r.id or 0 for r in rows], limit)


async def _position(ctx: Ctx, s: ActivitySignup) -> int | None:
    if s.status != SignupStatus.waiting:
        return None
    ahead = (
        await ctx.session.exec(
            select(sa.func.count()).where(
                ActivitySignup.activity_id == s.activity_id,
                ActivitySignup.status == SignupStatus.waiting,
                sa.or_(
                    col(ActivitySignup.signed_up_at) < s.signed_up_at,
                    sa.and_(
                        col(ActivitySignup.signed_up_at) == s.signed_up_at, col(ActivitySignup.id) < s.id
                    ),
                ),
            )
        )
    ).one()
    return int(ahead) + 1


async def signup_out(ctx: Ctx, s: ActivitySignup) -> SignupOut:
    return SignupOut(
        id=s.id or 0,
        activity_id=s.activity_id,
        user_id=s.user_id,
        status=s.status,
        position=await _position(ctx, s),
        signed_up_at=s.signed_up_at,
    )


async def _mine(ctx: Ctx, activity_id: int, user_id: int) -> ActivitySignup | None:
    return (
        await ctx.session.exec(
            select(ActivitySignup).where(
                ActivitySignup.activity_id == activity_id, ActivitySignup.user_id == user_id
            )
        )
    ).first()


async def sign_up(ctx: Ctx, activity_id: int) -> SignupOut:
    user_id = ctx.require_principal().user_id
    activity = await _load(ctx, activity_id, lock=True)
    now = utcnow()
    if now >= activity.ends_at:
        raise InvalidInput("activity.closed")
    row = await _mine(ctx, activity_id, user_id)
    if row is not None and row.status in ACTIVE:
        raise Conflict("activity.already_signed_up", details={"status": row.status})
    held = (
        await ctx.session.exec(
            select(sa.func.count()).where(
                ActivitySignup.activity_id == activity_id, col(ActivitySignup.status).in_(list(HOLDING))
            )
        )
    ).one()
    status = SignupStatus.confirmed if int(held) < activity.capacity else SignupStatus.waiting
    row = row or ActivitySignup(activity_id=activity_id, user_id=user_id, status=status, signed_up_at=now)
    row.status, row.signed_up_at, row.updated_at = status, now, now
    ctx.session.add(row)
    await ctx.session.flush()
    return await signup_out(ctx, row)


async def cancel(ctx: Ctx, activity_id: int) -> SignupOut:
    user_id = ctx.require_principal().user_id
    activity = await _load(ctx, activity_id, lock=True)
    row = await _mine(ctx, activity_id, user_id)
    if row is None or row.status not in (SignupStatus.confirmed, SignupStatus.waiting):
        raise Conflict("activity.not_signed_up")
    was_confirmed = row.status == SignupStatus.confirmed
    now = utcnow()
    row.status, row.updated_at = SignupStatus.cancelled, now
    ctx.session.add(row)
    if was_confirmed and now < activity.ends_at:
        await _promote(ctx, activity, now)
    await ctx.session.flush()
    return await signup_out(ctx, row)


async def _promote(ctx: Ctx, activity: Activity, now: datetime) -> None:
    first = (
        await ctx.session.exec(
            select(ActivitySignup)
            .where(ActivitySignup.activity_id == activity.id, ActivitySignup.status == SignupStatus.waiting)
            .order_by(col(ActivitySignup.signed_up_at), col(ActivitySignup.id))
            .limit(1)
        )
    ).first()
    if first is None:
        return
    first.status, first.updated_at = SignupStatus.confirmed, now
    ctx.session.add(first)
    zone = await zone_of(ctx.session, activity.community_id)
    await notify(
        ctx.session,
        [first.user_id],
        "duty",
        "duty.activity_promoted",
        {
            "activity_id": activity.id or 0,
            "title": activity.title,
            "start_local": local_label(activity.starts_at, zone),
        },
        f"duty:activity:{activity.id}:promoted:{first.id}:{int(first.signed_up_at.timestamp())}",
        community_id=activity.community_id,
    )


async def record_attendance(ctx: Ctx, activity_id: int, body: AttendanceIn) -> AttendanceOut:
    """The secretary marks who came; each attendee is credited the activity's hours once."""
    activity = await _load(ctx, activity_id, lock=True)
    require_community(ctx.require_principal(), activity.community_id, MANAGERS)
    now = utcnow()
    if now < activity.starts_at:
        raise InvalidInput("activity.not_started")
    wanted = sorted(set(body.user_ids))
    members = set(
        (
            await ctx.session.exec(
                select(Membership.user_id).where(
                    Membership.community_id == activity.community_id,
                    Membership.status == MembershipStatus.verified,
                    col(Membership.user_id).in_(wanted),
                )
            )
        ).all()
    )
    strangers = [u for u in wanted if u not in members]
    if strangers:
        raise InvalidInput("activity.not_signed_up", details={"user_ids": strangers})
    existing = {
        s.user_id: s
        for s in (
            await ctx.session.exec(
                select(ActivitySignup).where(
                    ActivitySignup.activity_id == activity_id, col(ActivitySignup.user_id).in_(wanted)
                )
            )
        ).all()
    }
    rows: list[ActivitySignup] = []
    for user_id in wanted:
        # Walk-ins who never signed up are recorded too: they came and served.
        row = existing.get(user_id) or ActivitySignup(
            activity_id=activity_id, user_id=user_id, status=SignupStatus.attended, signed_up_at=now
        )
        row.status, row.updated_at = SignupStatus.attended, now
        ctx.session.add(row)
        rows.append(row)
    await ctx.session.flush()
    for row in rows:
        await credit(
            ctx.session,
            row.user_id,
            activity.community_id,
            LedgerSource.activity,
            activity_id,
            activity.hours,
            activity.ends_at,
        )
    return AttendanceOut(activity_id=activity_id, attended=[await signup_out(ctx, r) for r in rows])
