"""Volunteer activities (文明实践活动): publish, sign up with a waiting list, cancel, attendance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep
from services.duty import activities
from services.duty.schemas import ActivityCreate, ActivityOut, AttendanceIn, AttendanceOut, SignupOut
from services.schemas import Page, Text

router = APIRouter(prefix="/v1", tags=["activities"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]


@router.post(
    "/communities/{cid}/activities",
    status_code=201,
    response_model=ActivityOut,
    summary="Publish an activity (secretary)",
)
async def create_activity(cid: CommunityId, body: ActivityCreate, idem: IdempotentDep) -> Response:
    """`starts_at` and `ends_at` carry a UTC offset; `hours` (credited to each attendee) defaults to
    the duration."""
    return await idem.run(lambda: activities.create_activity(idem.ctx, cid, body))


@router.get("/communities/{cid}/activities", summary="The community's activities")
async def list_activities(
    cid: CommunityId, ctx: AuthCtx, limit: Limit = 20, cursor: Cursor = None
) -> Page[ActivityOut]:
    return await activities.list_activities(ctx, cid, limit, cursor)


@router.get("/activities/{activity_id}", summary="One activity with its sign-up counts")
async def get_activity(activity_id: ObjectId, ctx: AuthCtx) -> ActivityOut:
    return await activities.get_activity(ctx, activity_id)


@router.post(
    "/activities/{activity_id}/signups",
    status_code=201,
    response_model=SignupOut,
    summary="Sign up (confirmed, or on the waiting list when full)",
)
async def sign_up(activity_id: ObjectId, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: activities.sign_up(idem.ctx, activity_id))


@router.delete(
    "/activities/{activity_id}/signups/me", summary="Cancel my sign-up (the first waiting moves up)"
)
async def cancel(activity_id: ObjectId, ctx: AuthCtx) -> SignupOut:
    return await activities.cancel(ctx, activity_id)


@router.post("/activities/{activity_id}/attendance", summary="Record who came; volunteer hours accrue")
async def attendance(activity_id: ObjectId, body: AttendanceIn, ctx: AuthCtx) -> AttendanceOut:
    return await activities.record_attendance(ctx, activity_id, body)
