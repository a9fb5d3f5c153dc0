"""The caller's own profile, households and memberships."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select

from services.communities import members
from services.driver_sql import DriverStatement, in_values
from services.models import Building, Community, Household, Membership, PropertyCompany
from services.runtime import Ctx
from services.users.schemas import HouseholdRef, MembershipOut, MeOut, MeUpdate

_H = Household.__table__.c  # type: ignore[attr-defined]
# Plain rows of the columns shown (every app start reads it), built once, run on the driver.
_HOMES = DriverStatement(
    lambda dialect: (
        sa.select(
            _H.id,
            _H.community_id,
            _H.building_id,
            _H.entrance,
            _H.room,
            _H.area_m2,
            col(Building.name).label("building_name"),
            col(Community.name).label("community_name"),
        )
        .join(Building, col(Building.id) == _H.building_id)
        .join(Community, col(Community.id) == _H.community_id)
        .where(in_values(_H.id, "ids", dialect))
        .order_by(_H.id)
    )
)


async def me(ctx: Ctx) -> MeOut:
    p = ctx.require_principal()
    pairs = [(hid, rel) for homes in p.households.values() for hid, rel in homes.items()]
    households: list[HouseholdRef] = []
    if pairs:
        relations = dict(pairs)
        rows = await _HOMES.rows(ctx.session, {"ids": list(relations)})
        households = [
            HouseholdRef(
                id=hid,
                community_id=community_id,
                community_name=community_name,
                building_id=building_id,
                building_name=building_name,
                entrance=entrance,
                room=room,
                area_m2=area_m2,
                relation=relations.get(hid),
            )
            for hid, community_id, building_id, entrance, room, area_m2, building_name, community_name in rows
        ]
    return MeOut(
        id=p.user_id,
        phone=p.user.phone,
        name=p.user.name,
        locale=p.user.locale,
        is_platform_admin=p.is_platform_admin,
        verified=bool(households),
        households=households,
        roles={str(cid): sorted(roles) for cid, roles in p.community_roles.items()},
    )


async def update_me(ctx: Ctx, body: MeUpdate) -> MeOut:
    user = ctx.require_principal().user
    if body.name is not None:
        user.name = body.name
    if body.locale is not None:
        user.locale = body.locale
    ctx.session.add(user)
    await ctx.session.flush()
    return await me(ctx)


async def memberships(ctx: Ctx, membership_id: int | None = None) -> list[MembershipOut]:
    p = ctx.require_principal()
    stmt = (
        select(Membership, Community.name, PropertyCompany.name)
        .outerjoin(Community, col(Community.id) == Membership.community_id)
        .outerjoin(PropertyCompany, col(PropertyCompany.id) == Membership.company_id)
        .where(Membership.user_id == p.user_id)
        .order_by(col(Membership.id))
    )
    if membership_id is not None:
        stmt = stmt.where(Membership.id == membership_id)
    rows = (await ctx.session.exec(stmt)).all()
    return [
        MembershipOut.model_validate(m).model_copy(update={"community_name": cn, "company_name": pn})
        for m, cn, pn in rows
    ]


async def answer_invitation(ctx: Ctx, membership_id: int, *, accept: bool) -> MembershipOut:
    """Accept or decline a role someone offered the caller by phone (`status: invited`)."""
    await members.answer_invitation(ctx, membership_id, accept=accept)
    return (await memberships(ctx, membership_id))[0]
