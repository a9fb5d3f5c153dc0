"""Occupants of a household (people without the app included), for the desk and the register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep
from services.communities import occupants
from services.communities.occupant_schemas import OccupantIn, OccupantOut, OccupantPatch
from services.schemas import Line, Page, Text

router = APIRouter(prefix="/v1", tags=["occupants"])

Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]


@router.get(
    "/communities/{cid}/households/{hid}/occupants",
    summary="Occupants of a household (staff; the household's residents see phones masked)",
)
async def list_household_occupants(
    cid: CommunityId, hid: ObjectId, ctx: AuthCtx, limit: Limit = 50, cursor: Cursor = None
) -> Page[OccupantOut]:
    return await occupants.list_household_occupants(ctx, cid, hid, limit, cursor)


@router.post(
    "/communities/{cid}/households/{hid}/occupants",
    status_code=201,
    response_model=OccupantOut,
    summary="Record an occupant (no app account needed)",
)
async def create_occupant(cid: CommunityId, hid: ObjectId, body: OccupantIn, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: occupants.create_occupant(idem.ctx, cid, hid, body))


@router.get("/communities/{cid}/occupants", summary="Find occupants by phone or name (community staff)")
async def search_occupants(
    cid: CommunityId,
    ctx: AuthCtx,
    phone: Annotated[Line | None, Query(min_length=1, max_length=32)] = None,
    q: Annotated[Line | None, Query(min_length=1, max_length=50)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OccupantOut]:
    return await occupants.search_occupants(ctx, cid, phone, q, limit, cursor)


@router.get("/occupants/{oid}", summary="One occupant")
async def get_occupant(oid: ObjectId, ctx: AuthCtx) -> OccupantOut:
    return await occupants.get_occupant(ctx, oid)


@router.patch("/occupants/{oid}", summary="Change an occupant's name, phone, relation or note")
async def update_occupant(oid: ObjectId, body: OccupantPatch, ctx: AuthCtx) -> OccupantOut:
    return await occupants.update_occupant(ctx, oid, body)


@router.delete("/occupants/{oid}", status_code=204, summary="Remove an occupant (tickets keep the record)")
async def delete_occupant(oid: ObjectId, ctx: AuthCtx) -> Response:
    await occupants.delete_occupant(ctx, oid)
    return Response(status_code=204)
