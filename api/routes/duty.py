"""Red property: the party organisation, duty posts and assignments, the roster (亮身份), shifts,
check-in/out, swaps, the duty log and the service-hours ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep, IdempotentUploadDep
from api.uploads import Photo
from services.attachments.schemas import AttachmentOut
from services.duty import checkins, logs, party, posts, roster, shifts, swaps
from services.duty.schemas import (
    AssignmentCreate,
    AssignmentOut,
    CheckinIn,
    CheckinOut,
    CheckoutIn,
    ContactPrefIn,
    ContactPrefOut,
    DutyLogCreate,
    DutyLogOut,
    PartyCreate,
    PartyMemberIn,
    PartyMemberOut,
    PartyOut,
    PostCreate,
    PostOut,
    RosterOut,
    ServiceLogPage,
    ShiftBatchOut,
    ShiftCreate,
    ShiftOut,
    SwapCreate,
    SwapOut,
)
from services.schemas import Day, Page, Text

router = APIRouter(prefix="/v1", tags=["duty"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


# --- party organisation ----------------------------------------------------------------------------


@router.get("/communities/{cid}/party", summary="The party organisation and its members")
async def get_party(cid: CommunityId, ctx: AuthCtx) -> PartyOut:
    return await party.get_party(ctx, cid)


@router.post(
    "/communities/{cid}/party", status_code=201, response_model=PartyOut, summary="Found the party branch"
)
async def create_party(cid: CommunityId, body: PartyCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: party.create_party(idem.ctx, cid, body))


@router.post(
    "/communities/{cid}/party/members",
    status_code=201,
    response_model=PartyMemberOut,
    summary="Invite a party member by phone (secretary); the role holds once they accept",
)
async def add_party_member(cid: CommunityId, body: PartyMemberIn, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: party.add_member(idem.ctx, cid, body))


@router.delete("/communities/{cid}/party/members/{user_id}", status_code=204, summary="Remove a party member")
async def remove_party_member(cid: CommunityId, user_id: ObjectId, ctx: AuthCtx) -> Response:
    await party.remove_member(ctx, cid, user_id)
    return Response(status_code=204)


# --- posts, assignments, contact, roster -----------------------------------------------------------


@router.post(
    "/communities/{cid}/duty/posts", status_code=201, response_model=PostOut, summary="Create a duty post"
)
async def create_post(cid: CommunityId, body: PostCreate, idem: IdempotentDep) -> Response:
    """`custom_category` is required with category `custom`, and refused with any other."""
    return await idem.run(lambda: posts.create_post(idem.ctx, cid, body))


@router.get("/communities/{cid}/duty/posts", summary="The community's duty posts")
async def list_posts(cid: CommunityId, ctx: AuthCtx) -> list[PostOut]:
    return await posts.list_posts(ctx, cid)


@router.post(
    "/duty/posts/{post_id}/assignments",
    status_code=201,
    response_model=AssignmentOut,
    summary="Assign a party member to a post (lead or member, from/to dates)",
)
async def assign(post_id: ObjectId, body: AssignmentCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: posts.add_assignment(idem.ctx, post_id, body))


@router.patch("/duty/me/contact", summary="What residents may use to reach me on the roster")
async def set_contact(body: ContactPrefIn, ctx: AuthCtx) -> ContactPrefOut:
    return await posts.set_contact(ctx, body)


@router.get("/communities/{cid}/duty/roster", summary="Who holds each duty post, per building (亮身份)")
async def get_roster(cid: CommunityId, ctx: AuthCtx, building_id: OptionalId = None) -> RosterOut:
    return await roster.roster(ctx, cid, building_id)


# --- shifts ----------------------------------------------------------------------------------------


@router.post(
    "/duty/posts/{post_id}/shifts",
    status_code=201,
    response_model=ShiftBatchOut,
    summary="Schedule one shift or a weekly recurrence (in the community's time zone)",
)
async def create_shifts(post_id: ObjectId, body: ShiftCreate, idem: IdempotentDep) -> Response:
    """Either `starts_at` and `ends_at` (one shift, both given) or a `recurrence`, never both; times
    carry a UTC offset."""
    return await idem.run(lambda: shifts.create_shifts(idem.ctx, post_id, body))


@router.get(
    "/communities/{cid}/duty/shifts",
    summary="Shifts by local date (default: this week), in time order, in pages",
)
async def list_shifts(
    cid: CommunityId,
    ctx: AuthCtx,
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ShiftOut]:
    return await shifts.list_shifts(ctx, cid, start, end, limit, cursor)


@router.post(
    "/duty/shifts/{shift_id}/checkin",
    status_code=201,
    response_model=CheckinOut,
    summary="Check in at the post",
)
async def checkin(shift_id: ObjectId, body: CheckinIn, idem: IdempotentDep) -> Response:
    """`lat` and `lng` go together (both or neither)."""
    return await idem.run(lambda: checkins.checkin(idem.ctx, shift_id, body))


@router.post("/duty/shifts/{shift_id}/checkout", summary="Check out; hours go to the ledger")
async def checkout(shift_id: ObjectId, body: CheckoutIn, ctx: AuthCtx) -> CheckinOut:
    return await checkins.checkout(ctx, shift_id, body)


@router.post(
    "/duty/shifts/{shift_id}/checkin/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Add a check-in photo (≤ 9); a retry with the same Idempotency-Key replays",
)
async def add_checkin_photo(shift_id: ObjectId, photo: Photo, idem: IdempotentUploadDep) -> Response:
    # `photo` before idem: decoded before the transaction opens
    return await idem.run(lambda: checkins.add_photo(idem.ctx, shift_id, photo))


@router.post(
    "/duty/shifts/{shift_id}/swap-requests",
    status_code=201,
    response_model=SwapOut,
    summary="Ask to hand my shift to another party member",
)
async def request_swap(shift_id: ObjectId, body: SwapCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: swaps.request_swap(idem.ctx, shift_id, body))


@router.post("/duty/swap-requests/{swap_id}/approve", summary="Approve a swap (secretary)")
async def approve_swap(swap_id: ObjectId, ctx: AuthCtx) -> SwapOut:
    return await swaps.decide(ctx, swap_id, True)


@router.post("/duty/swap-requests/{swap_id}/reject", summary="Reject a swap (secretary)")
async def reject_swap(swap_id: ObjectId, ctx: AuthCtx) -> SwapOut:
    return await swaps.decide(ctx, swap_id, False)


# --- duty log and ledger ---------------------------------------------------------------------------


@router.post(
    "/duty/posts/{post_id}/log",
    status_code=201,
    response_model=DutyLogOut,
    summary="Record what I did at the post; optionally open or link a repair ticket",
)
async def add_log(post_id: ObjectId, body: DutyLogCreate, idem: IdempotentDep) -> Response:
    """Link an existing ticket (`ticket_id`) or open one (`open_ticket`), not both."""
    return await idem.run(lambda: logs.add_entry(idem.ctx, post_id, body))


@router.get("/duty/posts/{post_id}/log", summary="The post's duty log, newest first")
async def list_log(
    post_id: ObjectId, ctx: AuthCtx, limit: Limit = 20, cursor: Cursor = None
) -> Page[DutyLogOut]:
    return await logs.list_entries(ctx, post_id, limit, cursor)


@router.get("/duty/service-log", summary="Service-hours ledger (mine; the secretary may pass member_id)")
async def service_log(
    ctx: AuthCtx, member_id: OptionalId = None, limit: Limit = 20, cursor: Cursor = None
) -> ServiceLogPage:
    return await checkins.service_log(ctx, member_id, limit, cursor)
