"""Communities and buildings, scoped through services.access."""

from __future__ import annotations

from sqlmodel import col, select

from services import access
from services.communities.schemas import BuildingOut, CommunityOut
from services.errors import NotFound
from services.models import Building, Community
from services.runtime import Ctx


async def get_community(ctx: Ctx, community_id: int) -> CommunityOut:
    p = ctx.require_principal()
    row = (
        await ctx.session.exec(
            select(Community).where(
                Community.id == community_id,
                col(Community.deleted_at).is_(None),
                access.community_filter(p, Community.id, public=True),
            )
        )
    ).first()
    if row is None:
        raise NotFound("community.not_found")
    return CommunityOut.model_validate(row)


async def list_buildings(ctx: Ctx, community_id: int) -> list[BuildingOut]:
    await get_community(ctx, community_id)
    rows = (
        await ctx.session.exec(
            select(Building).where(Building.community_id == community_id).order_by(col(Building.id))
        )
    ).all()
    return [BuildingOut.model_validate(b) for b in rows]
