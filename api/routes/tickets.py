"""Repair tickets and complaints: filing, lists, the lifecycle, photos and ratings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Response

from api.deps import MAX_ID, AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep, IdempotentUploadDep
from api.responses import OrjsonResponse
from api.uploads import DirectPhoto, Photo
from services.attachments.direct import DirectUploadIn, DirectUploadOut
from services.models.tickets import TicketStatus
from services.schemas import Instant, Page, Text
from services.tickets import calls, followups, photo_uploads, queries, ratings, service
from services.tickets.schemas import (
    AttachmentRef,
    CallOut,
    Kind,
    RatingIn,
    RatingOut,
    TicketCategory,
    TicketCounts,
    TicketCreate,
    TicketEventOut,
    TicketListItem,
    TicketOut,
    TransitionIn,
)

router = APIRouter(prefix="/v1", tags=["tickets"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Status = TicketStatus


@router.post(
    "/communities/{cid}/tickets",
    status_code=201,
    response_model=TicketOut,
    summary="File a repair or complaint (residents; staff on a resident's behalf)",
)
async def create_ticket(cid: CommunityId, body: TicketCreate, idem: IdempotentDep) -> Response:
    """A ticket is for a household (`household_id`, or an occupant's household) or for a public area
    (`place`, optionally `building_id`), never both; neither is 422 `ticket.household_not_found`.
    `category` must belong to `kind` (see GET /v1/labels); a complaint needs `complaint_target`;
    `appointment_start` and `appointment_end` go together. Send an `Idempotency-Key`: a retry
    replays the first answer instead of filing twice."""
    return await idem.run(lambda: service.create_ticket(idem.ctx, cid, body))


def _filters(
    status: list[Status] | None,
    kind: Kind | None,
    category: str | None,
    community_id: int | None,
    building_id: int | None,
    overdue: bool | None,
    created_from: datetime | None,
    created_to: datetime | None,
    q: str | None,
    queue: str | None,
    valid: bool | None,
) -> dict[str, object]:
    return {
        "status": status,
        "kind": kind,
        "category": category,
        "community_id": community_id,
        "building_id": building_id,
        "overdue": overdue,
        "created_from": created_from,
        "created_to": created_to,
        "q": q,
        "queue": queue,
        "valid": valid,
    }


@router.get(
    "/tickets",
    response_model=Page[TicketListItem],
    summary="Tickets the caller may see, newest first (keyset pages)",
)
async def list_tickets(
    ctx: AuthCtx,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[list[Status] | None, Query()] = None,
    kind: Kind | None = None,
    category: TicketCategory | None = None,
    community_id: OptionalId = None,
    building_id: OptionalId = None,
    overdue: bool | None = None,
    created_from: Instant | None = None,
    created_to: Instant | None = None,
    q: Annotated[Text | None, Query(min_length=1, max_length=100)] = None,
    queue: Annotated[
        Literal["grab", "assigned"] | None, Query(description="grab: the unassigned queue")
    ] = None,
    valid: Annotated[bool | None, Query(description="complaints classified valid / invalid")] = None,
) -> Response:
    filters = _filters(
        status, kind, category, community_id, building_id, overdue, created_from, created_to, q, queue, valid
    )
    return OrjsonResponse(await queries.list_tickets(ctx, limit, cursor, filters))


@router.get("/tickets/counts", summary="Counts by status for the app's badges (same scope and filters)")
async def ticket_counts(
    ctx: AuthCtx,
    kind: Kind | None = None,
    community_id: OptionalId = None,
    queue: Annotated[Literal["grab", "assigned"] | None, Query()] = None,
) -> TicketCounts:
    return await queries.counts(ctx, {"kind": kind, "community_id": community_id, "queue": queue})


@router.get("/tickets/{tid}", summary="One ticket with its photos and the actions the caller may take")
async def get_ticket(tid: ObjectId, ctx: AuthCtx) -> TicketOut:
    return await service.get_ticket(ctx, tid)


@router.get("/tickets/{tid}/events", summary="The ticket's history, oldest first")
async def list_events(tid: ObjectId, ctx: AuthCtx) -> list[TicketEventOut]:
    return await queries.list_events(ctx, tid)


@router.post("/tickets/{tid}/transitions", summary="Apply a lifecycle action (accept, assign, grab, …)")
async def transition(tid: ObjectId, body: TransitionIn, ctx: AuthCtx) -> TicketOut:
    """Send the ticket's current `version`: a stale one is 409 `ticket.version_conflict` (reload and
    retry). The actions the caller may take now are the ticket's `allowed_actions`; `pause` and
    `reject` take a `reason_code`, `assign` an `assignee_id`, `reprioritise` a `priority`."""
    return await service.transition(ctx, tid, body)


@router.post(
    "/tickets/{tid}/attachments",
    status_code=201,
    response_model=AttachmentRef,
    summary="Add a before/after photo (≤ 9 of each); a retry with the same Idempotency-Key replays",
)
async def add_attachment(
    tid: ObjectId,
    photo: Photo,  # before idem: decoded before the transaction opens
    idem: IdempotentUploadDep,
    purpose: Annotated[Literal["before", "after"], Form()],
) -> Response:
    return await idem.run(lambda: service.add_photo(idem.ctx, tid, purpose, photo))


@router.post(
    "/tickets/{tid}/attachments/uploads",
    status_code=201,
    response_model=DirectUploadOut,
    summary="Start a photo upload straight to the bucket (S3-compatible storage; else 409, use multipart)",
)
async def presign_attachment(tid: ObjectId, body: DirectUploadIn, idem: IdempotentDep) -> Response:
    """Step 1 of 3. Same rules as the multipart upload (who, when, ≤ 9 of each purpose). Step 2: send
    the file to `url` (POST: a form with `fields`, then the file as `file`; PUT: the bytes with
    `headers`). Step 3: POST .../uploads/{upload_id}/complete. With local storage this answers 409
    `attachment.direct_upload_unavailable`: upload to POST /v1/tickets/{tid}/attachments instead."""
    return await idem.run(lambda: photo_uploads.presign(idem.ctx, tid, body))


@router.post(
    "/tickets/{tid}/attachments/uploads/{upload_id}/complete",
    status_code=201,
    response_model=AttachmentRef,
    summary="Finish a direct upload: the server checks, cleans and stores the photo",
)
async def complete_attachment_upload(
    tid: ObjectId,
    fetched: DirectPhoto,  # before idem: fetched and decoded before the transaction opens
    idem: IdempotentDep,
) -> Response:
    """The photo is checked and cleaned as a multipart one (type from the bytes, EXIF and GPS removed,
    thumb and medium sizes) and the raw object is deleted. Unknown upload 404
    `attachment.upload_not_found`, someone else's 403, done already 409, expired 410, not uploaded yet
    422 `attachment.upload_missing`. A retry with the same Idempotency-Key replays the answer."""
    return await idem.run(lambda: photo_uploads.complete(idem.ctx, tid, fetched))


@router.delete(
    "/tickets/{tid}/attachments/{attachment_id}",
    status_code=204,
    summary="Remove a photo you added, until the ticket's status next changes",
)
async def delete_attachment(tid: ObjectId, attachment_id: ObjectId, ctx: AuthCtx) -> Response:
    await service.delete_photo(ctx, tid, attachment_id)
    return Response(status_code=204)


@router.post(
    "/tickets/{tid}/call",
    summary="A relay (privacy) number to call the resident, valid for a few minutes (assigned technician)",
)
async def call_resident(tid: ObjectId, ctx: AuthCtx) -> CallOut:
    return await calls.call(ctx, tid)


@router.post("/tickets/{tid}/rating", summary="Rate a resolved ticket (again within 7 days to change)")
async def rate(tid: ObjectId, body: RatingIn, ctx: AuthCtx) -> RatingOut:
    return await ratings.rate(ctx, tid, body)


@router.put("/tickets/{tid}/rating", summary="Change the rating (within 7 days)")
async def rerate(tid: ObjectId, body: RatingIn, ctx: AuthCtx) -> RatingOut:
    return await ratings.rate(ctx, tid, body)


@router.get("/communities/{cid}/followups", summary="Return visits (回访) owed after low ratings")
async def list_followups(
    cid: CommunityId,
    ctx: AuthCtx,
    status: followups.FollowupStatus | None = "open",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[followups.FollowupOut]:
    return await followups.list_followups(ctx, cid, status, limit, cursor)


@router.post("/followups/{fid}/complete", summary="Record the return visit's outcome (property manager)")
async def complete_followup(
    fid: ObjectId, body: followups.FollowupDone, ctx: AuthCtx
) -> followups.FollowupOut:
    return await followups.complete(ctx, fid, body)
