"""Public lookup for a new resident: find the community and the home to claim."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AuthCtx, CommunityId
from api.routes.communities import Cursor, Limit, OptionalId
from services.communities import places
from services.communities.schemas import DirectoryCommunityOut, DirectoryHouseholdOut
from services.schemas import Page, Text

router = APIRouter(prefix="/v1/directory", tags=["directory"])


@router.get("/communities", summary="Search communities by name or address (public fields)")
async def search_communities(
    ctx: AuthCtx,
    q: Annotated[Text | None, Query(max_length=100)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[DirectoryCommunityOut]:
    return await places.directory_communities(ctx, (q or "").strip() or None, limit, cursor)


@router.get(
    "/communities/{cid}/households", summary="Homes of a community to claim (location only, no occupants)"
)
async def list_households(
    cid: CommunityId,
    ctx: AuthCtx,
    building_id: OptionalId = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[DirectoryHouseholdOut]:
    return await places.directory_households(ctx, cid, limit, cursor, building_id)
