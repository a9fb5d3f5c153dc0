"""Who a notice is for: validating the audience, and writing every receipt with one INSERT … SELECT."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.errors import InvalidInput
from services.models import (
    Building,
    Household,
    ManagementContract,
    Membership,
    MembershipStatus,
    Role,
    User,
)
from services.models.notices import AudienceType, Notice, NoticeReceipt

# Roles an audience may name (platform admins are nobody's neighbours).
AUDIENCE_ROLES = frozenset(
    set(Role) - {Role.platform_admin, Role.street_office}
)  # street office: read-only, no inbox


async def validate(
    session: AsyncSession,
    community_id: int,
    audience_type: str,
    building_ids: list[int],
    roles: list[str],
) -> tuple[list[int], list[str]]:
    """The normalised (building ids, roles) of an audience, or 422 `notice.invalid_audience`."""
    buildings = sorted(set(building_ids))
    wanted_roles = sorted(set(roles))
    if audience_type == AudienceType.community:
        if buildings or wanted_roles:
            raise InvalidInput("notice.invalid_audience", details={"reason": "community_takes_no_list"})
        return [], []
    if audience_type == AudienceType.buildings:
        if not buildings or wanted_roles:
            raise InvalidInput("notice.invalid_audience", details={"reason": "buildings_required"})
        found = set(
            (
                await session.exec(
                    select(Building.id).where(
                        col(Building.id).in_(buildings), Building.community_id == community_id
                    )
                )
            ).all()
        )
        unknown = [b for b in buildings if b not in found]
        if unknown:
            raise InvalidInput("notice.invalid_audience", details={"unknown_building_ids": unknown})
        return buildings, []
    if not wanted_roles or buildings or not set(wanted_roles) <= AUDIENCE_ROLES:
        raise InvalidInput("notice.invalid_audience", details={"reason": "roles_required"})
    return [], wanted_roles


def check_offline(offline_reach: bool, audience_type: str) -> bool:
    """Reaching households without the app needs an audience of households (not of roles)."""
    if offline_reach and audience_type == AudienceType.roles:
        raise InvalidInput("notice.invalid_audience", details={"reason": "offline_reach_needs_households"})
    return offline_reach


def households_query(notice: Notice) -> Any:
    """SELECT (household id, building id) of the households a community or building notice is for."""
    h = Household.__table__  # type: ignore[attr-defined]
    stmt = sa.select(h.c.id, h.c.building_id).where(h.c.community_id == notice.community_id)
    if notice.audience_type == AudienceType.buildings:
        stmt = stmt.where(h.c.building_id.in_(list(notice.audience_building_ids)))
    return stmt


def members_query(notice: Notice, today: date) -> Any:
    """SELECT (user_id, household_id, building_id) of every verified audience member, one row per
    user: community roles directly, company roles through an active management contract."""
    m = Membership.__table__.alias("m")  # type: ignore[attr-defined]
    h = Household.__table__.alias("h")  # type: ignore[attr-defined]
    u = User.__table__.alias("u")  # type: ignore[attr-defined]
    mc = ManagementContract.__table__  # type: ignore[attr-defined]
    cid = notice.community_id
    managing = sa.select(mc.c.company_id).where(
        mc.c.community_id == cid,
        mc.c.starts_on <= today,
        sa.or_(mc.c.ends_on.is_(None), mc.c.ends_on >= today),
    )
    in_community = sa.or_(m.c.community_id == cid, m.c.company_id.in_(managing))
    where: list[Any] = [m.c.status == MembershipStatus.verified, in_community, u.c.disabled_at.is_(None)]
    if notice.audience_type == AudienceType.buildings:
        where += [
            m.c.role == Role.resident,
            h.c.community_id == cid,
            h.c.building_id.in_(list(notice.audience_building_ids)),
        ]
    elif notice.audience_type == AudienceType.roles:
        where.append(m.c.role.in_(list(notice.audience_roles)))
    # A resident's own household counts (a committee member living here is also a resident).
    home = sa.and_(h.c.id == m.c.household_id, m.c.role == Role.resident, h.c.community_id == cid)
    return (
        sa.select(
            sa.literal(notice.id, sa.BigInteger()).label("notice_id"),
            m.c.user_id,
            sa.func.min(h.c.id).label("household_id"),
            sa.func.min(h.c.building_id).label("building_id"),
        )
        .select_from(m.join(u, u.c.id == m.c.user_id).outerjoin(h, home))
        .where(*where)
        .group_by(m.c.user_id)
    )


async def write_receipts(session: AsyncSession, notice: Notice, today: date) -> list[int]:
    """One statement, whatever the audience size; returns the recipients (user ids, ascending)."""
    table = NoticeReceipt.__table__  # type: ignore[attr-defined]
    stmt = (
        table.insert()
        .from_select(["notice_id", "user_id", "household_id", "building_id"], members_query(notice, today))
        .returning(table.c.user_id)
    )
    return sorted(int(u) for u in (await session.execute(stmt)).scalars())


async def recipient_ids(
    session: AsyncSession, notice_id: int, *, read: bool = False, unread: bool = False, unacked: bool = False
) -> list[int]:
    stmt = select(NoticeReceipt.user_id).where(
        NoticeReceipt.notice_id == notice_id, col(NoticeReceipt.user_id).is_not(None)
    )
    if read:
        stmt = stmt.where(col(NoticeReceipt.read_at).is_not(None))
    if unread:
        stmt = stmt.where(col(NoticeReceipt.read_at).is_(None))
    if unacked:
        stmt = stmt.where(col(NoticeReceipt.acked_at).is_(None))
    return [int(u or 0) for u in (await session.exec(stmt.order_by(col(NoticeReceipt.user_id)))).all()]
