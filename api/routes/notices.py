from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep, IdempotentUploadDep
from api.responses import OrjsonResponse
from api.uploads import Document
from services.attachments.schemas import AttachmentOut
from services.models.notices import NoticeKind
from services.notices import comments, feed, receipts, service
from services.notices.schemas import (
    AnswerIn,
    CommentIn,
    CommentOut,
    HistoryItem,
    MissingOut,
    MyReceipt,
    NoticeCreate,
    NoticeItem,
    NoticeOut,
    NoticeUpdate,
    PaperReceiptsIn,
    PaperReceiptsOut,
    PublishIn,
    ReceiptsOut,
    RemindIn,
    RemindOut,
    RevisionIn,
    WithdrawIn,
)
from services.schemas import Page, Text

router = APIRouter(prefix="/v1", tags=["notices"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[Text | None, Query(description="next_cursor of the previous page")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.post(
    "/communities/{cid}/notices",
    status_code=201,
    response_model=NoticeOut,
    summary="Create a notice draft (or schedule it with publish_at)",
)
async def create_notice(cid: CommunityId, body: NoticeCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: service.create_notice(idem.ctx, cid, body))


@router.get(
    "/notices",
    response_model=Page[NoticeItem],
    summary="My notice feed: pinned first, newest first, with unread markers",
)
async def list_notices(
    ctx: AuthCtx,
    community_id: OptionalId = None,
    kind: NoticeKind | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> OrjsonResponse:
    # Every app start reads it: plain dicts shaped as the model, rendered once with orjson.
    page = await feed.feed(ctx, community_id=community_id, kind=kind, limit=limit, cursor=cursor)
    return OrjsonResponse(page)


@router.get("/notices/{nid}", summary="One notice (marks it delivered to me)")
async def get_notice(nid: ObjectId, ctx: AuthCtx) -> NoticeOut:
    return await service.get_notice(ctx, nid)


@router.patch("/notices/{nid}", summary="Edit a draft; a published notice only changes pinned/expires_at")
async def update_notice(nid: ObjectId, body: NoticeUpdate, ctx: AuthCtx) -> NoticeOut:
    return await service.update_notice(ctx, nid, body)


@router.post("/notices/{nid}/publish", summary="Publish now, or schedule for a future publish_at")
async def publish(nid: ObjectId, ctx: AuthCtx, body: PublishIn | None = None) -> NoticeOut:
    return await service.publish(ctx, nid, body or PublishIn())


@router.post("/notices/{nid}/withdraw", summary="Withdraw (the record stays, with the reason)")
async def withdraw(nid: ObjectId, body: WithdrawIn, ctx: AuthCtx) -> NoticeOut:
    return await service.withdraw(ctx, nid, body)


@router.post(
    "/notices/{nid}/revisions",
    status_code=201,
    response_model=NoticeOut,
    summary="Start the next round (a draft linked to this notice, with a change summary)",
)
async def revise(nid: ObjectId, body: RevisionIn, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: service.revise(idem.ctx, nid, body))


@router.get("/notices/{nid}/history", summary="The rounds: first publicity → changes → second publicity")
async def history(nid: ObjectId, ctx: AuthCtx) -> list[HistoryItem]:
    return await comments.history(ctx, nid)


@router.post(
    "/notices/{nid}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Attach an image or PDF (≤ 9, drafts); a retry with the same Idempotency-Key replays",
)
async def add_attachment(nid: ObjectId, document: Document, idem: IdempotentUploadDep) -> Response:
    # `document` before idem: decoded before the transaction opens
    return await idem.run(lambda: service.add_attachment(idem.ctx, nid, document))


@router.post("/notices/{nid}/read", summary="Mark read")
async def read(nid: ObjectId, ctx: AuthCtx) -> MyReceipt:
    return await receipts.mark_read(ctx, nid)


@router.post("/notices/{nid}/ack", summary="Acknowledge (确认已读)")
async def ack(nid: ObjectId, ctx: AuthCtx) -> MyReceipt:
    return await receipts.acknowledge(ctx, nid)


@router.get("/notices/{nid}/receipts", summary="Read / acknowledged counts per building (and household)")
async def receipt_view(nid: ObjectId, ctx: AuthCtx, building_id: OptionalId = None) -> ReceiptsOut:
    return await receipts.receipts(ctx, nid, building_id)


@router.post(
    "/notices/{nid}/paper-receipts",
    summary="Record households that have the notice on paper (staff, grid workers); repeats are kept once",
)
async def record_paper_receipts(nid: ObjectId, body: PaperReceiptsIn, ctx: AuthCtx) -> PaperReceiptsOut:
    return await receipts.record_paper(ctx, nid, body)


@router.get("/notices/{nid}/receipts/missing", summary="Who has not read (or acknowledged) yet")
async def receipt_missing(
    nid: ObjectId,
    ctx: AuthCtx,
    what: Literal["read", "ack"] = "read",
    building_id: OptionalId = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[MissingOut]:
    return await receipts.missing(ctx, nid, what, building_id, limit, cursor)


@router.post(
    "/notices/{nid}/remind",
    status_code=200,
    response_model=RemindOut,
    summary="Remind everyone who has not read (or acknowledged) it, in one action",
)
async def remind(nid: ObjectId, idem: IdempotentDep, body: RemindIn | None = None) -> Response:
    return await idem.run(lambda: receipts.remind(idem.ctx, nid, (body or RemindIn()).what), status_code=200)


@router.post(
    "/notices/{nid}/comments",
    status_code=201,
    response_model=CommentOut,
    summary="Comment or object during the publicity window",
)
async def add_comment(nid: ObjectId, body: CommentIn, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: comments.add_comment(idem.ctx, nid, body))


@router.get("/notices/{nid}/comments", summary="Comments and objections with their answers")
async def list_comments(
    nid: ObjectId, ctx: AuthCtx, objections: bool = False, limit: Limit = 50, cursor: Cursor = None
) -> Page[CommentOut]:
    return await comments.list_comments(ctx, nid, objections, limit, cursor)


@router.post("/notices/{nid}/comments/{comment_id}/answer", summary="Answer an objection (author)")
async def answer(nid: ObjectId, comment_id: ObjectId, body: AnswerIn, ctx: AuthCtx) -> CommentOut:
    return await comments.answer(ctx, nid, comment_id, body)
