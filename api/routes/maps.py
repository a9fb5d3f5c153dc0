"""One map (一张图): geometry of communities and buildings, and the map layer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AuthCtx, CommunityId, ObjectId
from services.geo import layer, render, service
from services.geo.crs import Crs
from services.geo.schemas import BuildingGeometryIn, CommunityGeometryIn, FeatureCollection, GeometryOut
from services.schemas import Text

router = APIRouter(prefix="/v1", tags=["map"])

CrsQ = Annotated[Crs, Query(description="System of the coordinates answered: wgs84 | gcj02 | bd09")]
BboxQ = Annotated[
    Text | None,
    Query(
        max_length=120, description="west,south,east,north in `crs`; required beyond 200 visible communities"
    ),
]
LayersQ = Annotated[
    Text | None,
    Query(
        max_length=200,
        description="comma-separated: renovation, people, tickets, alarms, cameras, kpi (default: all)",
    ),
]


@router.put("/communities/{cid}/geometry", summary="Set the community's point and outline (community admin)")
async def put_community_geometry(cid: CommunityId, body: CommunityGeometryIn, ctx: AuthCtx) -> GeometryOut:
    """Give a `location`, a `boundary` or both (neither is 422)."""
    return await service.set_community_geometry(ctx, cid, body)


@router.get("/communities/{cid}/geometry", summary="The community's point and outline, in `crs`")
async def get_community_geometry(cid: CommunityId, ctx: AuthCtx, crs: CrsQ = Crs.wgs84) -> GeometryOut:
    return await service.get_community_geometry(ctx, cid, crs)


@router.put("/communities/{cid}/buildings/{bid}/geometry", summary="Set a building's point (community admin)")
async def put_building_geometry(
    cid: CommunityId, bid: ObjectId, body: BuildingGeometryIn, ctx: AuthCtx
) -> GeometryOut:
    return await service.set_building_geometry(ctx, cid, bid, body)


@router.get(
    "/map/communities",
    summary="GeoJSON FeatureCollection of the communities on the caller's map (ETag / 304)",
)
async def map_communities(
    ctx: AuthCtx, bbox: BboxQ = None, crs: CrsQ = Crs.wgs84, layers: LayersQ = None
) -> FeatureCollection:
    return await layer.communities_layer(ctx, bbox, crs, layers)


IMAGE = "The map layer drawn without tiles for a printed report: outlines, points, KPI colours, a legend"


@router.get("/map/communities.png", summary=f"{IMAGE} (PNG)", response_class=Response)
async def map_communities_png(
    ctx: AuthCtx, bbox: BboxQ = None, crs: CrsQ = Crs.wgs84, layers: LayersQ = None
) -> Response:
    body = await layer.communities_image(ctx, bbox, crs, layers, "png")
    return Response(body, media_type=render.MEDIA["png"])


@router.get("/map/communities.svg", summary=f"{IMAGE} (SVG)", response_class=Response)
async def map_communities_svg(
    ctx: AuthCtx, bbox: BboxQ = None, crs: CrsQ = Crs.wgs84, layers: LayersQ = None
) -> Response:
    body = await layer.communities_image(ctx, bbox, crs, layers, "svg")
    return Response(body, media_type=render.MEDIA["svg"])


@router.get(
    "/map/communities/{cid}/buildings", summary="GeoJSON FeatureCollection of one community's buildings"
)
async def map_buildings(cid: CommunityId, ctx: AuthCtx, crs: CrsQ = Crs.wgs84) -> FeatureCollection:
    return await layer.buildings_layer(ctx, cid, crs)
