"""Who is who around a ticket: the property managers and staff of a community, its committee."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import ManagementContract, Membership, MembershipStatus, Role


def _managing_companies(community_id: int, today: date) -> Any:
    return sa.select(col(ManagementContract.company_id)).where(
        col(ManagementContract.community_id) == community_id,
        col(ManagementContract.starts_on) <= today,
        sa.or_(col(ManagementContract.ends_on).is_(None), col(ManagementContract.ends_on) >= today),
    )


async def users_with_roles(session: AsyncSession, community_id: int, roles: Iterable[str]) -> list[int]:
    """Verified holders of `roles` in the community, directly or through the managing company."""
    wanted = sorted(set(roles))
    if not wanted:
        return []
    stmt = (
        select(Membership.user_id)
        .where(
            Membership.status == MembershipStatus.verified,
            col(Membership.role).in_(wanted),
            sa.or_(
                col(Membership.community_id) == community_id,
                col(Membership.company_id).in_(_managing_companies(community_id, date.today())),
            ),
        )
        .distinct()
    )
    return sorted((await session.exec(stmt)).all())


async def managers(session: AsyncSession, community_id: int) -> list[int]:
    return await users_with_roles(session, community_id, [Role.property_manager])


async def is_property_staff(session: AsyncSession, community_id: int, user_id: int) -> bool:
    staff = await users_with_roles(session, community_id, [Role.property_staff, Role.property_manager])
    return user_id in staff


async def is_verified_resident(session: AsyncSession, user_id: int, household_id: int) -> bool:
    row = (
        await session.exec(
            select(Membership.id).where(
                Membership.user_id == user_id,
                Membership.household_id == household_id,
                Membership.role == Role.resident,
                Membership.status == MembershipStatus.verified,
            )
        )
    ).first()
    return row is not None
