"""Where a new ticket is and who it is for: a household, or a public area (stairwell, lift, gate) with
no household; a resident with the app, or an occupant without one (services.communities.occupants)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.driver_sql import DriverStatement, as_loaded, in_session
from services.errors import InvalidInput, NotFound
from services.models import Building, Household, Membership, MembershipStatus, Role
from services.models.occupants import Occupant
from services.runtime import Ctx
from services.tickets.people import is_verified_resident
from services.tickets.schemas import TicketCreate


async def load_occupant(ctx: Ctx, community_id: int, occupant_id: int) -> Occupant:
    row = (
        await ctx.session.exec(
            select(Occupant).where(
                Occupant.id == occupant_id,
                Occupant.community_id == community_id,
                col(Occupant.deleted_at).is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound("occupant.not_found")
    return row


async def where_for(
    ctx: Ctx, community_id: int, body: TicketCreate, occupant: Occupant | None
) -> tuple[Household | None, int | None]:
    """(household, building id): the household named (or the occupant's), or none for a public area."""
    if body.place is not None:
        if body.building_id is None:
            return None, None
        building = await ctx.session.get(Building, body.building_id)
        if building is None or building.community_id != community_id:
            raise NotFound("building.not_found")
        return None, building.id
    household_id = body.household_id or (occupant.household_id if occupant else None)
    if household_id is None:
        raise InvalidInput("ticket.household_not_found")
    household = await load_household(ctx.session, household_id)
    if household is None or household.community_id != community_id:
        raise NotFound("household.not_found")
    if occupant is not None and occupant.household_id != household.id:
        raise InvalidInput("ticket.occupant_household_mismatch")
    return household, household.building_id


_HOUSEHOLD_COLUMNS = [c.name for c in Household.__table__.columns]  # type: ignore[attr-defined]
# Read on every filing: on asyncpg, past SQLAlchemy's per-execution work (services.driver_sql).
_HOUSEHOLD = DriverStatement(
    lambda _dialect: sa.select(*Household.__table__.columns).where(  # type: ignore[attr-defined]
        Household.__table__.c.id == sa.bindparam("household_id")  # type: ignore[attr-defined]
    )
)


async def load_household(session: AsyncSession, household_id: int) -> Household | None:
    """session.get(Household, household_id): the session's own instance when it has one."""
    present = in_session(session, Household, (household_id,))
    if present is not None:
        return present
    rows = await _HOUSEHOLD.rows(session, {"household_id": household_id})
    if not rows:
        return None
    return as_loaded(session, Household, dict(zip(_HOUSEHOLD_COLUMNS, rows[0], strict=True)))


async def is_resident_for(ctx: Ctx, user_id: int, community_id: int, household: Household | None) -> bool:
    """A verified resident of the household, or (public areas) of any household of the community."""
    if household is not None:
        return await is_verified_resident(ctx.session, user_id, household.id or 0)
    row = (
        await ctx.session.exec(
            select(Membership.id).where(
                Membership.user_id == user_id,
                Membership.community_id == community_id,
                Membership.role == Role.resident,
                Membership.status == MembershipStatus.verified,
            )
        )
    ).first()
    return row is not None
