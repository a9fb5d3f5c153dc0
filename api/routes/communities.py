from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import MAX_ID, AuthCtx, CommunityId
from api.idempotency import IdempotentDep
from services.communities import claims, companies, households_import, members, places
from services.communities.schemas import (
    BuildingCreate,
    BuildingOut,
    ClaimCreate,
    ClaimOut,
    ClaimStatus,
    CommunityCreate,
    CommunityOut,
    ContractCreate,
    ContractOut,
    HouseholdCreate,
    HouseholdOut,
    ImportResult,
    MemberCreate,
    MemberOut,
    MyCommunityOut,
)
from services.errors import InvalidInput
from services.models import Role
from services.schemas import Page, Text

router = APIRouter(prefix="/v1", tags=["communities"])

Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[Text | None, Query(description="next_cursor of the previous page")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.post("/communities", status_code=201, response_model=CommunityOut, summary="Create a community")
async def create_community(body: CommunityCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: places.create_community(idem.ctx, body))


@router.get("/communities", summary="Communities the caller belongs to, including pending claims")
async def list_communities(ctx: AuthCtx, limit: Limit = 50, cursor: Cursor = None) -> Page[MyCommunityOut]:
    return await places.list_my_communities(ctx, limit, cursor)


@router.get("/communities/{cid}", summary="One community the caller belongs to")
async def get_community(cid: CommunityId, ctx: AuthCtx) -> CommunityOut:
    return await places.get_community(ctx, cid)


@router.get("/communities/{cid}/buildings", summary="Buildings of a community")
async def list_buildings(cid: CommunityId, ctx: AuthCtx) -> list[BuildingOut]:
    return await places.list_buildings(ctx, cid)


@router.post(
    "/communities/{cid}/buildings", status_code=201, response_model=BuildingOut, summary="Add a building"
)
async def create_building(cid: CommunityId, body: BuildingCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: places.create_building(idem.ctx, cid, body))


@router.get("/communities/{cid}/households", summary="Household register (staff)")
async def list_households(
    cid: CommunityId,
    ctx: AuthCtx,
    limit: Limit = 50,
    cursor: Cursor = None,
    building_id: OptionalId = None,
) -> Page[HouseholdOut]:
    return await places.list_households(ctx, cid, limit, cursor, building_id)


@router.post(
    "/communities/{cid}/households", status_code=201, response_model=HouseholdOut, summary="Add a household"
)
async def create_household(cid: CommunityId, body: HouseholdCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: places.create_household(idem.ctx, cid, body))


@router.post(
    "/communities/{cid}/households/import",
    status_code=200,
    response_model=ImportResult,
    summary="Import households from CSV (building,entrance,room,area_m2); all rows or none",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def import_households(cid: CommunityId, request: Request, idem: IdempotentDep) -> Response:
    data = await _csv_bytes(request)
    return await idem.run(lambda: households_import.import_households(idem.ctx, cid, data), status_code=200)


async def _csv_bytes(request: Request) -> bytes:
    """The CSV from a text/csv body or from the `file` field of a multipart form."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput(
                "household.import_invalid",
                details={"errors": [{"line": 0, "column": None, "error": "missing_file"}], "error_count": 1},
            )
        return await upload.read()
    return await request.body()


@router.post(
    "/communities/{cid}/contracts",
    status_code=201,
    response_model=ContractOut,
    summary="Record a management contract between a property company and this community",
)
async def create_contract(cid: CommunityId, body: ContractCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: companies.create_contract(idem.ctx, cid, body))


@router.post(
    "/communities/{cid}/members",
    status_code=201,
    response_model=MemberOut,
    summary="Invite a committee member, party member/secretary, grid worker or community admin by phone; "
    "the role holds once they accept under /v1/me/invitations",
)
async def add_member(cid: CommunityId, body: MemberCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: members.add_community_member(idem.ctx, cid, body))


@router.get("/communities/{cid}/members", summary="Non-resident roles in the community")
async def list_members(
    cid: CommunityId, ctx: AuthCtx, limit: Limit = 50, cursor: Cursor = None, role: Role | None = None
) -> Page[MemberOut]:
    return await members.list_community_members(ctx, cid, limit, cursor, role)


@router.post(
    "/communities/{cid}/claims",
    status_code=201,
    response_model=ClaimOut,
    summary="Claim a household as owner, tenant or family member (waits for approval)",
)
async def create_claim(cid: CommunityId, body: ClaimCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: claims.create_claim(idem.ctx, cid, body))


@router.get("/communities/{cid}/claims", summary="Household claims (approvers)")
async def list_claims(
    cid: CommunityId,
    ctx: AuthCtx,
    status: ClaimStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ClaimOut]:
    return await claims.list_claims(ctx, cid, status, limit, cursor)
