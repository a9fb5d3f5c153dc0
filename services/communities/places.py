"""Communities, buildings and households, scoped through services.access."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import col, select

from services import access, audit
from services.communities.common import (
    HOUSEHOLD_READERS,
    after_id,
    flush_unique,
    load_community,
    page,
)
from services.communities.schemas import (
    BuildingCreate,
    BuildingOut,
    CommunityCreate,
    CommunityOut,
    DirectoryCommunityOut,
    DirectoryHouseholdOut,
    HouseholdCreate,
    HouseholdOut,
    MyCommunityOut,
)
from services.errors import Conflict, NotFound
from services.models import Building, Community, Household
from services.privacy import reads
from services.runtime import Ctx
from services.schemas import Page

# --- communities -------------------------------------------------------------------------------


async def get_community(ctx: Ctx, community_id: int) -> CommunityOut:
    p = ctx.require_principal()
    row = (
        await ctx.session.exec(
            select(Community).where(
                Community.id == community_id,
                col(Community.deleted_at).is_(None),
                access.community_filter(p, Community.id),
            )
        )
    ).first()
    if row is None:
        raise NotFound("community.not_found")
    return CommunityOut.model_validate(row)


async def list_my_communities(ctx: Ctx, limit: int, cursor: str | None) -> Page[MyCommunityOut]:
    """Communities where the caller holds a role or a pending claim (platform admins: all)."""
    p = ctx.require_principal()
    rows = (
        await ctx.session.exec(
            select(Community)
            .where(
                access.claims_filter(p, Community.id),
                col(Community.deleted_at).is_(None),
                col(Community.id) > after_id(cursor),
            )
            .order_by(col(Community.id))
            .limit(limit)
        )
    ).all()
    items = [_my_community(p, c) for c in rows]
    return page(items, [c.id or 0 for c in rows], limit)


# A pending claimant sees of the community what the public directory shows, and the claim's status.
_BEYOND_DIRECTORY = {"built_year": None, "renovated_year": None, "latitude": None, "longitude": None}


def _my_community(p: access.Principal, c: Community) -> MyCommunityOut:
    pending = (c.id or 0) in p.pending_communities
    out = CommunityOut.model_validate(c).model_dump()
    if pending and not p.is_platform_admin:
        out.update(_BEYOND_DIRECTORY)
    return MyCommunityOut(**out, roles=sorted(p.roles_in(c.id or 0)), pending=pending)


async def create_community(ctx: Ctx, body: CommunityCreate, *, operator: bool = False) -> CommunityOut:
    """Platform admins (or a trusted operator at the command line) add a community."""
    if not operator:
        access.require_platform_admin(ctx.require_principal())
    taken = (await ctx.session.exec(select(Community.id).where(Community.name == body.name))).first()
    if taken is not None:
        raise Conflict("community.name_taken")
    row = Community(**body.model_dump())
    ctx.session.add(row)
    await flush_unique(ctx, "community.name_taken")
    out = CommunityOut.model_validate(row)
    await audit.record(
        ctx, "community.create", "community", row.id, community_id=row.id, after=out.model_dump()
    )
    return out


# --- buildings ---------------------------------------------------------------------------------


async def list_buildings(ctx: Ctx, community_id: int) -> list[BuildingOut]:
    await get_community(ctx, community_id)
    rows = (
        await ctx.session.exec(
            select(Building).where(Building.community_id == community_id).order_by(col(Building.id))
        )
    ).all()
    return [BuildingOut.model_validate(b) for b in rows]


async def create_building(ctx: Ctx, community_id: int, body: BuildingCreate) -> BuildingOut:
    p = ctx.require_principal()
    access.require_community(p, community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    taken = (
        await ctx.session.exec(
            select(Building.id).where(Building.community_id == community_id, Building.name == body.name)
        )
    ).first()
    if taken is not None:
        raise Conflict("building.name_taken")
    row = Building(community_id=community_id, name=body.name, floors=body.floors)
    ctx.session.add(row)
    await flush_unique(ctx, "building.name_taken")
    out = BuildingOut.model_validate(row)
    await audit.record(
        ctx, "building.create", "building", row.id, community_id=community_id, after=out.model_dump()
    )
    return out


# --- households --------------------------------------------------------------------------------


def _household_out(h: Household, building_name: str) -> HouseholdOut:
    return HouseholdOut(
        id=h.id or 0,
        community_id=h.community_id,
        building_id=h.building_id,
        building_name=building_name,
        entrance=h.entrance,
        room=h.room,
        area_m2=Decimal(h.area_m2).quantize(Decimal("0.01")),
        created_at=h.created_at,
    )


async def _building_in(ctx: Ctx, community_id: int, building_id: int) -> Building:
    row = (
        await ctx.session.exec(
            select(Building).where(Building.id == building_id, Building.community_id == community_id)
        )
    ).first()
    if row is None:
        raise NotFound("building.not_found")
    return row


async def list_households(
    ctx: Ctx, community_id: int, limit: int, cursor: str | None, building_id: int | None = None
) -> Page[HouseholdOut]:
    access.require_community(ctx.require_principal(), community_id, HOUSEHOLD_READERS)
    await load_community(ctx, community_id)
    query = (
        select(Household, Building.name)
        .join(Building, col(Building.id) == Household.building_id)
        .where(Household.community_id == community_id, col(Household.id) > after_id(cursor))
    )
    if building_id is not None:
        query = query.where(Household.building_id == building_id)
    rows = (await ctx.session.exec(query.order_by(col(Household.id)).limit(limit))).all()
    ids = [h.id or 0 for h, _ in rows]
    if ids:
        await reads.record_read(
            ctx, "read.household_register", purpose="household_management", community_id=community_id,
            entity="household", subjects=await reads.household_residents(ctx, ids),
            detail={"household_ids": ",".join(map(str, ids))},
        )  # fmt: skip
    return page([_household_out(h, name) for h, name in rows], ids, limit)


async def create_household(ctx: Ctx, community_id: int, body: HouseholdCreate) -> HouseholdOut:
    access.require_community(ctx.require_principal(), community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    b = await _building_in(ctx, community_id, body.building_id)
    taken = (
        await ctx.session.exec(
            select(Household.id).where(
                Household.building_id == body.building_id,
                Household.entrance == body.entrance,
                Household.room == body.room,
            )
        )
    ).first()
    if taken is not None:
        raise Conflict("household.duplicate", details={"household_id": taken})
    row = Household(
        community_id=community_id,
        building_id=body.building_id,
        entrance=body.entrance,
        room=body.room,
        area_m2=body.area_m2,
    )
    ctx.session.add(row)
    await flush_unique(ctx, "household.duplicate")
    out = _household_out(row, b.name)
    await audit.record(
        ctx, "household.create", "household", row.id, community_id=community_id, after=out.model_dump()
    )
    return out


# --- public directory (any logged-in user, to find a home to claim) ----------------------------


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def directory_communities(
    ctx: Ctx, q: str | None, limit: int, cursor: str | None
) -> Page[DirectoryCommunityOut]:
    ctx.require_principal()
    query = select(Community).where(col(Community.deleted_at).is_(None), col(Community.id) > after_id(cursor))
    if q:
        pattern = _like(q)
        query = query.where(
            col(Community.name).ilike(pattern, escape="\\")
            | col(Community.address).ilike(pattern, escape="\\")
            | col(Community.district).ilike(pattern, escape="\\")
        )
    rows = (await ctx.session.exec(query.order_by(col(Community.id)).limit(limit))).all()
    return page([DirectoryCommunityOut.model_validate(c) for c in rows], [c.id or 0 for c in rows], limit)


async def directory_households(
    ctx: Ctx, community_id: int, limit: int, cursor: str | None, building_id: int | None = None
) -> Page[DirectoryHouseholdOut]:
    ctx.require_principal()
    await load_community(ctx, community_id)
    if building_id is not None:
        await _building_in(ctx, community_id, building_id)
    query = (
        select(Household, Building.name)
        .join(Building, col(Building.id) == Household.building_id)
        .where(Household.community_id == community_id, col(Household.id) > after_id(cursor))
    )
    if building_id is not None:
        query = query.where(Household.building_id == building_id)
    rows = (await ctx.session.exec(query.order_by(col(Household.id)).limit(limit))).all()
    items = [
        DirectoryHouseholdOut(
            id=h.id or 0, building_id=h.building_id, building_name=name, entrance=h.entrance, room=h.room
        )
        for h, name in rows
    ]
    return page(items, [h.id or 0 for h, _ in rows], limit)
