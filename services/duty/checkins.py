"""Check-in and check-out at the post, check-in photos, and the service-hours ledger.

Check-in: from 30 minutes before the start until the end, once per member and shift; an optional
location must lie within the community's radius plus 200 m. Hours credited at check-out are
checkout − checkin, capped at the shift's length plus 30 minutes. A member who never checks out is
checked out at the shift's end by the `close_finished_shifts` job, which credits hours the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.attachments.schemas import AttachmentOut
from services.attachments.service import PreparedUpload, store_upload
from services.communities.common import flush_unique
from services.db import insert_for
from services.duty.common import MANAGERS, load_shift, post_label
from services.duty.schemas import CheckinIn, CheckinOut, CheckoutIn, ServiceLogItem, ServiceLogPage
from services.errors import Conflict, Forbidden, InvalidInput
from services.models import Community, Membership, MembershipStatus, User, utcnow
from services.models.duty import (
    Activity,
    DutyCheckin,
    DutyPost,
    DutyShift,
    DutyShiftAssignee,
    LedgerSource,
    ServiceLog,
    ShiftStatus,
)
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx

EARLY = timedelta(minutes=30)
TOLERANCE_M = 200
CAP_EXTRA = timedelta(minutes=30)
MAX_PHOTOS = 9
EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def shift_hours(shift: DutyShift, checkin_at: datetime, checkout_at: datetime) -> Decimal:
    worked = min(checkout_at - checkin_at, shift.ends_at - shift.starts_at + CAP_EXTRA)
    seconds = max(worked.total_seconds(), 0.0)
    return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def credit(
    session: AsyncSession,
    user_id: int,
    community_id: int,
    source: str,
    source_id: int,
    hours: Decimal,
    at: datetime,
) -> bool:
    """Add a ledger row once per (source, source_id, user); returns False when it was already there."""
    insert = insert_for(session)
    table = ServiceLog.__table__  # type: ignore[attr-defined]
    stmt = (
        insert(table)
        .values(
            user_id=user_id,
            community_id=community_id,
            source=source,
            source_id=source_id,
            hours=hours,
            at=at,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["source", "source_id", "user_id"])
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


def checkin_out(row: DutyCheckin, hours: Decimal | None = None) -> CheckinOut:
    return CheckinOut(
        id=row.id or 0,
        shift_id=row.shift_id,
        user_id=row.user_id,
        checkin_at=row.checkin_at,
        checkout_at=row.checkout_at,
        distance_m=row.distance_m,
        note=row.note,
        checkout_note=row.checkout_note,
        hours=hours,
    )


async def _on_shift(ctx: Ctx, shift: DutyShift) -> int:
    user_id = ctx.require_principal().user_id
    found = (
        await ctx.session.exec(
            select(DutyShiftAssignee.id).where(
                DutyShiftAssignee.shift_id == shift.id, DutyShiftAssignee.user_id == user_id
            )
        )
    ).first()
    if found is None:
        raise Forbidden("duty.not_on_shift")
    return user_id


async def _mine(ctx: Ctx, shift: DutyShift, user_id: int) -> DutyCheckin | None:
    return (
        await ctx.session.exec(
            select(DutyCheckin).where(DutyCheckin.shift_id == shift.id, DutyCheckin.user_id == user_id)
        )
    ).first()


async def checkin(ctx: Ctx, shift_id: int, body: CheckinIn) -> CheckinOut:
    shift = await load_shift(ctx, shift_id, lock=True)
    user_id = await _on_shift(ctx, shift)
    now = utcnow()
    if not shift.starts_at - EARLY <= now <= shift.ends_at:
        raise InvalidInput(
            "duty.checkin_window",
            details={
                "opens_at": (shift.starts_at - EARLY).isoformat(),
                "closes_at": shift.ends_at.isoformat(),
            },
        )
    if await _mine(ctx, shift, user_id) is not None:
        raise Conflict("duty.already_checked_in")
    distance: int | None = None
    if body.lat is not None and body.lng is not None:
        community = await ctx.session.get(Community, shift.community_id)
        if community is not None and community.latitude is not None and community.longitude is not None:
            distance = round(distance_m(community.latitude, community.longitude, body.lat, body.lng))
            allowed = community.radius_m + TOLERANCE_M
            if distance > allowed:
                raise InvalidInput(
                    "duty.checkin_too_far", details={"distance_m": distance, "allowed_m": allowed}
                )
    row = DutyCheckin(
        shift_id=shift_id,
        user_id=user_id,
        checkin_at=now,
        lat=body.lat,
        lng=body.lng,
        distance_m=distance,
        note=body.note,
    )
    ctx.session.add(row)
    if shift.status == ShiftStatus.missed:
        # A late arrival: the secretary was told it was missed; the shift is being covered now.
        shift.status = ShiftStatus.scheduled
        ctx.session.add(shift)
    await flush_unique(ctx, "duty.already_checked_in")
    return checkin_out(row)


async def checkout(ctx: Ctx, shift_id: int, body: CheckoutIn) -> CheckinOut:
    shift = await load_shift(ctx, shift_id, lock=True)
    user_id = await _on_shift(ctx, shift)
    row = await _mine(ctx, shift, user_id)
    if row is None:
        raise Conflict("duty.not_checked_in")
    if row.checkout_at is not None:
        raise Conflict("duty.already_checked_out")
    now = utcnow()
    row.checkout_at = now
    row.checkout_note = body.note
    shift.status = ShiftStatus.done
    ctx.session.add_all([row, shift])
    await ctx.session.flush()
    hours = shift_hours(shift, row.checkin_at, now)
    await credit(ctx.session, user_id, shift.community_id, LedgerSource.shift, shift_id, hours, now)
    return checkin_out(row, hours)


async def add_photo(ctx: Ctx, shift_id: int, upload: PreparedUpload) -> AttachmentOut:
    shift = await load_shift(ctx, shift_id)
    user_id = await _on_shift(ctx, shift)
    row = await _mine(ctx, shift, user_id)
    if row is None:
        raise Conflict("duty.not_checked_in")
    return await store_upload(
        ctx,
        community_id=shift.community_id,
        owner_type="duty_checkin",
        owner_id=row.id or 0,
        purpose="checkin",
        upload=upload,
        max_count=MAX_PHOTOS,
    )


async def service_log(ctx: Ctx, member_id: int | None, limit: int, cursor: str | None) -> ServiceLogPage:
    """The caller's ledger; a secretary (or community admin) may read a member's, for their communities."""
    principal = ctx.require_principal()
    user_id = member_id or principal.user_id
    where: list[Any] = [ServiceLog.user_id == user_id]
    managed_by_caller: list[int] | None = None  # None: no limit (the caller's own, a platform admin)
    if user_id != principal.user_id and not principal.is_platform_admin:
        managed = sorted(c for c, roles in principal.community_roles.items() if set(MANAGERS) & roles)
        if not managed:
            raise Forbidden()
        where.append(col(ServiceLog.community_id).in_(managed))
        managed_by_caller = managed
    total = (
        await ctx.session.exec(select(sa.func.coalesce(sa.func.sum(ServiceLog.hours), 0)).where(*where))
    ).one()
    after = id_after(cursor)
    page_where = [*where, col(ServiceLog.id) < after] if after is not None else where
    rows = (
        await ctx.session.exec(
            select(ServiceLog).where(*page_where).order_by(col(ServiceLog.id).desc()).limit(limit)
        )
    ).all()
    member_name = await _member_name(ctx, user_id, managed_by_caller)
    posts, titles = await _sources(ctx.session, rows)
    return ServiceLogPage(
        user_id=user_id,
        user_name=member_name,
        total_hours=Decimal(str(total)).quantize(Decimal("0.01")),
        items=[
            ServiceLogItem(
                id=r.id or 0,
                community_id=r.community_id,
                source=r.source,
                source_id=r.source_id,
                hours=r.hours,
                at=r.at,
                member_name=member_name,
                post_name=posts.get(r.source_id) if r.source == LedgerSource.shift else None,
                activity_title=titles.get(r.source_id) if r.source == LedgerSource.activity else None,
            )
            for r in rows
        ],
        next_cursor=next_id_cursor([r.id or 0 for r in rows], limit),
    )


async def _member_name(ctx: Ctx, user_id: int, communities: list[int] | None) -> str:
    """The member's name, only if they belong to a community the caller manages: asking for the ledger
    of someone elsewhere must answer as for an id that does not exist (no name)."""
    stmt = select(User.name).where(User.id == user_id)
    if communities is not None:
        stmt = stmt.where(
            sa.exists().where(
                col(Membership.user_id) == user_id,
                col(Membership.community_id).in_(communities),
                col(Membership.status) == MembershipStatus.verified,
            )
        )
    return (await ctx.session.exec(stmt)).first() or ""


async def _sources(
    session: AsyncSession, rows: Sequence[ServiceLog]
) -> tuple[dict[int, str], dict[int, str]]:
    """The post label of each shift row and the title of each activity row (two statements)."""
    shift_ids = [r.source_id for r in rows if r.source == LedgerSource.shift]
    activity_ids = [r.source_id for r in rows if r.source == LedgerSource.activity]
    posts: dict[int, str] = {}
    titles: dict[int, str] = {}
    if shift_ids:
        for shift_id, post in (
            await session.exec(
                select(DutyShift.id, DutyPost)
                .join(DutyPost, col(DutyPost.id) == DutyShift.post_id)
                .where(col(DutyShift.id).in_(shift_ids))
            )
        ).all():
            posts[shift_id or 0] = post_label(post)
    if activity_ids:
        for activity_id, title in (
            await session.exec(select(Activity.id, Activity.title).where(col(Activity.id).in_(activity_ids)))
        ).all():
            titles[activity_id or 0] = title
    return posts, titles
