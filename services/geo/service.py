"""Setting and reading the geometry of a community and of its buildings (community admin, platform admin)."""

from __future__ import annotations

from sqlmodel import select

from services import access, audit
from services.communities.common import load_community
from services.errors import NotFound
from services.geo.crs import Crs
from services.geo.geometry import centroid, geometry_out, point_in, polygon_in
from services.geo.schemas import BuildingGeometryIn, CommunityGeometryIn, GeometryOut
from services.models import Building, Community
from services.runtime import Ctx


def community_out(c: Community, crs: Crs) -> GeometryOut:
    return GeometryOut(
        crs=crs,
        community_id=c.id or 0,
        location=geometry_out(c.location, crs),
        boundary=geometry_out(c.boundary, crs),
    )


async def set_community_geometry(ctx: Ctx, cid: int, body: CommunityGeometryIn) -> GeometryOut:
    access.require_community(ctx.require_principal(), cid, access.MANAGE_COMMUNITY)
    c = await load_community(ctx, cid)
    before = {"location": c.location, "boundary": c.boundary}
    boundary = polygon_in(body.boundary.coordinates, body.crs, "boundary") if body.boundary else None
    if body.location is not None:
        location = point_in(body.location.coordinates, body.crs, "location")
    else:
        assert boundary is not None
        location = centroid(boundary)
    c.location, c.boundary = location, boundary
    # The check-in radius test reads latitude / longitude: keep them the same point.
    c.longitude, c.latitude = location["coordinates"]
    ctx.session.add(c)
    await ctx.session.flush()
    await audit.record(
        ctx, "community.geometry", "community", cid, community_id=cid, before=before,
        after={"location": c.location, "boundary": c.boundary, "crs_in": body.crs},
    )  # fmt: skip
    return community_out(c, body.crs)


async def get_community_geometry(ctx: Ctx, cid: int, crs: Crs) -> GeometryOut:
    access.require_map_reader(ctx.require_principal(), cid)
    return community_out(await load_community(ctx, cid), crs)


async def _building(ctx: Ctx, cid: int, bid: int) -> Building:
    row = (
        await ctx.session.exec(select(Building).where(Building.id == bid, Building.community_id == cid))
    ).first()
    if row is None:
        raise NotFound("building.not_found")
    return row


async def set_building_geometry(ctx: Ctx, cid: int, bid: int, body: BuildingGeometryIn) -> GeometryOut:
    access.require_community(ctx.require_principal(), cid, access.MANAGE_COMMUNITY)
    await load_community(ctx, cid)
    b = await _building(ctx, cid, bid)
    before = {"location": b.location}
    b.location = point_in(body.location.coordinates, body.crs, "location")
    ctx.session.add(b)
    await ctx.session.flush()
    await audit.record(
        ctx, "building.geometry", "building", bid, community_id=cid, before=before,
        after={"location": b.location, "crs_in": body.crs},
    )  # fmt: skip
    return GeometryOut(
        crs=body.crs, community_id=cid, building_id=bid, location=geometry_out(b.location, body.crs)
    )
