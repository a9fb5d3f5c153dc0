"""Surveys and votes: create, list, detail, cast a ballot, results, verify the ballot chain, close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from api.deps import AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep
from api.uploads import Photo
from services.polls import ballots, paper, results, service
from services.polls.schemas import (
    BallotIn,
    BallotOut,
    CloseIn,
    PaperBallotOut,
    PollCreate,
    PollListItem,
    PollOut,
    ResultsOut,
    Status,
    VerifyOut,
)
from services.schemas import Id, Page, Text

router = APIRouter(prefix="/v1", tags=["polls"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]


@router.post(
    "/communities/{cid}/polls",
    status_code=201,
    response_model=PollOut,
    summary="Create a survey or vote (committee member, community admin)",
)
async def create_poll(cid: CommunityId, body: PollCreate, idem: IdempotentDep) -> Response:
    """A vote decides on `decision_question` (default 0), which must be a single-choice question;
    `households_ratio` and `area_ratio` go with `decision_rule` custom only (giving them implies it).
    `eligibility` defaults to owners for a vote, households for a survey. A text question has no
    options; a choice question has at least two distinct ones and `max_choices` within them."""
    return await idem.run(lambda: service.create_poll(idem.ctx, cid, body))


@router.get("/communities/{cid}/polls", summary="Polls of a community, newest first")
async def list_polls(
    cid: CommunityId, ctx: AuthCtx, status: Status | None = None, limit: Limit = 20, cursor: Cursor = None
) -> Page[PollListItem]:
    return await service.list_polls(ctx, cid, status, limit, cursor)


@router.get("/polls/{poll_id}", summary="A poll with its questions and which of your households voted")
async def get_poll(poll_id: ObjectId, ctx: AuthCtx) -> PollOut:
    return await service.get_poll(ctx, poll_id)


@router.post(
    "/polls/{poll_id}/ballots",
    status_code=201,
    response_model=BallotOut,
    summary="Cast the ballot of one of your households (once; ballots cannot be changed)",
)
async def cast_ballot(poll_id: ObjectId, body: BallotIn, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: ballots.cast_ballot(idem.ctx, poll_id, body))


@router.post(
    "/polls/{poll_id}/paper-ballots",
    status_code=201,
    summary="Record a household's signed paper ballot with a photo of the form (committee, staff)",
)
async def record_paper_ballot(
    poll_id: ObjectId,
    photo: Photo,  # before ctx: decoded before the transaction opens
    ctx: AuthCtx,
    household_id: Annotated[Id, Form()],
    answers: Annotated[
        Text, Form(max_length=20000, description='JSON array: [{"question_id": 1, "option_ids": [2]}]')
    ],
) -> PaperBallotOut:
    return await paper.record_paper_ballot(ctx, poll_id, household_id, answers, photo)


@router.get(
    "/polls/{poll_id}/results",
    summary="Counts, turnout and the decision rule's tests (Civil Code art. 278, 双过半 or custom)",
)
async def get_results(poll_id: ObjectId, ctx: AuthCtx) -> ResultsOut:
    return await results.get_results(ctx, poll_id)


@router.get(
    "/polls/{poll_id}/ballots/verify",
    summary="Recompute the ballot hash chain (the community's owners, committee, community admin)",
)
async def verify_ballots(poll_id: ObjectId, ctx: AuthCtx) -> VerifyOut:
    return await ballots.verify_chain(ctx, poll_id)


@router.post("/polls/{poll_id}/close", summary="Close after closes_at (freezes results), or cancel earlier")
async def close_poll(poll_id: ObjectId, ctx: AuthCtx, body: CloseIn | None = None) -> PollOut:
    return await service.close_poll(ctx, poll_id, body.cancel if body else False)
