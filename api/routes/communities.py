from __future__ import annotations

from fastapi import APIRouter

from api.deps import AuthCtx, CommunityId
from services.communities import service
from services.communities.schemas import BuildingOut, CommunityOut

router = APIRouter(prefix="/v1", tags=["communities"])


@router.get("/communities/{cid}", summary="One community the caller belongs to")
async def get_community(cid: CommunityId, ctx: AuthCtx) -> CommunityOut:
    return await service.get_community(ctx, cid)


@router.get("/communities/{cid}/buildings", summary="Buildings of a community")
async def list_buildings(cid: CommunityId, ctx: AuthCtx) -> list[BuildingOut]:
    return await service.list_buildings(ctx, cid)
