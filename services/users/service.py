"""The caller's own profile, households and memberships."""

from __future__ import annotations

from sqlmodel import col, select

from services.communities import members
from services.models import Building, Community, Household, Membership, PropertyCompany
from services.runtime import Ctx
from services.users.schemas import HouseholdRef, MembershipOut, MeOut, MeUpdate


async def me(ctx: Ctx) -> MeOut:
    p = ctx.require_principal()
    pairs = [(hid, rel) for homes in p.households.values() for hid, rel in homes.items()]
    households: list[HouseholdRef] = []
    if pairs:
        relations = dict(pairs)
        rows = (
            await ctx.session.exec(
                select(Household, Building.name, Community.name)
                .join(Building, col(Building.id) == Household.building_id)
                .join(Community, col(Community.id) == Household.community_id)
                .where(col(Household.id).in_(list(relations)))
                .order_by(col(Household.id))
            )
        ).all()
        households = [
            HouseholdRef(
                id=h.id or 0,
                community_id=h.community_id,
                community_name=community_name,
                building_id=h.building_id,
                building_name=building_name,
                entrance=h.entrance,
                room=h.room,
                area_m2=h.area_m2,
                relation=relations.get(h.id or 0),
            )
            for h, building_name, community_name in rows
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
