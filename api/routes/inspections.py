"""Inspections (巡查): greening and sanitation checks; failed items open tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep, IdempotentUploadDep
from api.uploads import Photo
from services.schemas import Page, Text
from services.tickets import inspections
from services.tickets.schemas import AttachmentRef, InspectionCreate, InspectionKind, InspectionOut

router = APIRouter(prefix="/v1", tags=["inspections"])


@router.post(
    "/communities/{cid}/inspections",
    status_code=201,
    response_model=InspectionOut,
    summary="Record an inspection (property staff, committee); failed items open tickets",
)
async def record_inspection(cid: CommunityId, body: InspectionCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: inspections.record(idem.ctx, cid, body))


@router.get("/communities/{cid}/inspections", summary="Inspections of a community, newest first")
async def list_inspections(
    cid: CommunityId,
    ctx: AuthCtx,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[Text | None, Query(max_length=200)] = None,
    kind: InspectionKind | None = None,
) -> Page[InspectionOut]:
    return await inspections.list_inspections(ctx, cid, limit, cursor, kind)


@router.post(
    "/inspections/{iid}/attachments",
    status_code=201,
    response_model=AttachmentRef,
    summary="Add a photo to an inspection (≤ 9); a retry with the same Idempotency-Key replays",
)
async def add_inspection_photo(iid: ObjectId, photo: Photo, idem: IdempotentUploadDep) -> Response:
    # `photo` before idem: decoded before the transaction opens
    return await idem.run(lambda: inspections.add_photo(idem.ctx, iid, photo))
