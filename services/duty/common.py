"""Helpers shared by the red-property area: who manages it, loading records through the community
filter, time zones and the shift-overlap rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.duty.messages  # registers this area's codes and templates
import services.models.duty  # noqa: F401  (registers the tables)
from services.access import community_filter
from services.errors import InvalidInput, NotFound
from services.models import Community, Membership, MembershipStatus, Role
from services.models.duty import DutyPost, DutyShift, DutyShiftAssignee, PostCategory
from services.runtime import Ctx

# Who runs the duty system: the party secretary, and the community admin (居委会) who oversees it.
MANAGERS = (Role.party_secretary, Role.community_admin)
PARTY_ROLES = (Role.party_member, Role.party_secretary)
# Staff who see the whole roster (residents see their own buildings).
ROSTER_STAFF = (
    Role.party_secretary,
    Role.party_member,
    Role.community_admin,
    Role.committee_member,
    Role.grid_worker,
    Role.property_manager,
    Role.property_staff,
)

CATEGORY_ZH = {
    PostCategory.publicity: "文化宣传岗",
    PostCategory.sanitation_supervision: "卫生监督岗",
    PostCategory.security_watch: "安全值守岗",
    PostCategory.dispute_mediation: "纠纷调解岗",
    PostCategory.emergency_rescue: "应急抢险岗",
}


def post_label(post: DutyPost) -> str:
    if post.category == PostCategory.custom:
        return post.custom_category or "责任岗"
    return CATEGORY_ZH.get(PostCategory(post.category), post.category)


async def load_post(ctx: Ctx, post_id: int) -> DutyPost:
    """The live post if it lies in one of the caller's communities, else 404."""
    principal = ctx.require_principal()
    row = (
        await ctx.session.exec(
            select(DutyPost).where(
                DutyPost.id == post_id,
                col(DutyPost.deleted_at).is_(None),
                community_filter(principal, col(DutyPost.community_id)),
            )
        )
    ).first()
    if row is None:
        raise NotFound("duty.post_not_found")
    return row


async def load_shift(ctx: Ctx, shift_id: int, *, lock: bool = False) -> DutyShift:
    principal = ctx.require_principal()
    stmt = select(DutyShift).where(
        DutyShift.id == shift_id, community_filter(principal, col(DutyShift.community_id))
    )
    if lock:
        stmt = stmt.with_for_update()
    row = (await ctx.session.exec(stmt)).first()
    if row is None:
        raise NotFound("duty.shift_not_found")
    return row


async def zone_of(session: AsyncSession, community_id: int) -> ZoneInfo:
    community = await session.get(Community, community_id)
    return ZoneInfo(community.time_zone if community else "Asia/Shanghai")


def local_today(zone: ZoneInfo, now: datetime) -> date:
    return now.astimezone(zone).date()


def local_label(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%m-%d %H:%M")


async def party_user_ids(
    session: AsyncSession, community_id: int, roles: Iterable[str] = PARTY_ROLES
) -> set[int]:
    rows = (
        await session.exec(
            select(Membership.user_id).where(
                Membership.community_id == community_id,
                col(Membership.role).in_(list(roles)),
                Membership.status == MembershipStatus.verified,
            )
        )
    ).all()
    return set(rows)


async def secretaries(session: AsyncSession, community_id: int) -> list[int]:
    return sorted(await party_user_ids(session, community_id, (Role.party_secretary,)))


async def require_party_member(session: AsyncSession, community_id: int, user_id: int) -> None:
    if user_id not in await party_user_ids(session, community_id):
        raise InvalidInput("party.not_member", details={"user_id": user_id})


async def check_no_overlap(
    session: AsyncSession,
    user_ids: Iterable[int],
    starts_at: datetime,
    ends_at: datetime,
    *,
    except_shift_id: int | None = None,
) -> None:
    """422 duty.shift_overlap when any of the users already has a shift overlapping [starts, ends)."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    stmt = (
        select(DutyShiftAssignee.user_id, DutyShift.id)
        .join(DutyShift, col(DutyShift.id) == DutyShiftAssignee.shift_id)
        .where(
            col(DutyShiftAssignee.user_id).in_(ids),
            col(DutyShift.starts_at) < ends_at,
            col(DutyShift.ends_at) > starts_at,
        )
        .limit(1)
    )
    if except_shift_id is not None:
        stmt = stmt.where(col(DutyShift.id) != except_shift_id)
    clash = (await session.exec(stmt)).first()
    if clash is not None:
        raise InvalidInput("duty.shift_overlap", details={"user_id": clash[0], "shift_id": clash[1]})


def active_on(day: date) -> list[sa.ColumnElement[bool]]:
    """Assignment rows in force on `day`."""
    from services.models.duty import DutyAssignment

    return [
        col(DutyAssignment.starts_on) <= day,
        sa.or_(col(DutyAssignment.ends_on).is_(None), col(DutyAssignment.ends_on) >= day),
    ]
