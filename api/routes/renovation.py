"""Renovation projects (老旧小区改造): project, items and phases with their evidence, the three roles,
schedule and works notices, approval timeline, funds ledger, self-assessments."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import AuthCtx, CommunityId, ObjectId
from api.idempotency import IdempotentDep, IdempotentUploadDep
from api.uploads import Document
from services.attachments.schemas import AttachmentOut
from services.notices.schemas import NoticeCreate, NoticeOut, RevisionIn
from services.polls.schemas import PollCreate, PollOut
from services.renovation import launch, ledger, planning, projects, roles, schedule
from services.renovation.launch import PollPhase
from services.renovation.schemas import (
    AdvanceIn,
    AssessmentCreate,
    AssessmentOut,
    ItemCreate,
    ItemOut,
    LedgerOut,
    LinksIn,
    MilestoneCreate,
    MilestoneOut,
    MilestoneUpdate,
    NoticeRefOut,
    PaymentCreate,
    PaymentOut,
    ProjectCreate,
    ProjectOut,
    RequestCreate,
    RequestDecision,
    RequestOut,
    RoleCreate,
    RoleOut,
    SignOffCreate,
    SignOffOut,
    SourceCreate,
    SourceOut,
    SourceUpdate,
    StepCreate,
    StepOut,
    StepUpdate,
    SupervisionCreate,
    SupervisionOut,
    TimelineOut,
    VerifyOut,
)
from services.renovation.schemas_planning import AftercareOut, PriorityIn, PriorityOut
from services.schemas import RequestBody, Text

router = APIRouter(prefix="/v1", tags=["renovation"])
P = "/renovation/projects/{rpid}"


class WorksNoticeIn(RequestBody):
    text: Text = Field(
        min_length=1, max_length=4000, description="what is cut or closed, when (水、电、通行)"
    )


class SummaryOut(BaseModel):
    markdown: str


@router.post("/communities/{cid}/renovation/projects", status_code=201, response_model=ProjectOut)
async def create_project(cid: CommunityId, body: ProjectCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: projects.create_project(idem.ctx, cid, body))


@router.get("/communities/{cid}/renovation/projects", summary="The community's projects, newest year first")
async def list_projects(cid: CommunityId, ctx: AuthCtx) -> list[ProjectOut]:
    return await projects.list_projects(ctx, cid)


@router.get(P, summary="The project with its items and each phase's evidence")
async def get_project(rpid: ObjectId, ctx: AuthCtx) -> ProjectOut:
    return await projects.get_project(ctx, rpid)


@router.post(P + "/items", status_code=201, response_model=ItemOut, summary="Add an item (planning, design)")
async def add_item(rpid: ObjectId, body: ItemCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: projects.add_item(idem.ctx, rpid, body))


@router.put(P + "/links", summary="Link the phases' surveys, notices and vote (existing polls and notices)")
async def set_links(rpid: ObjectId, body: LinksIn, ctx: AuthCtx) -> ProjectOut:
    return await projects.set_links(ctx, rpid, body)


@router.post(
    P + "/polls/{phase}",
    status_code=201,
    response_model=PollOut,
    summary="Launch the phase's survey (needs 问需, design 问计, satisfaction 问效) or the vote, linked",
    description="The poll is created in the polls area with its own rules; its kind is the phase's "
    "(a survey, or a vote for `vote`, which the project then requires). Community admin or committee.",
)
async def launch_poll(rpid: ObjectId, phase: PollPhase, body: PollCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: launch.launch_poll(idem.ctx, rpid, phase, body))


@router.post(
    P + "/design-notice",
    status_code=201,
    response_model=NoticeOut,
    summary="The design's first publicity round, created as a publicity notice and linked",
)
async def launch_design_notice(rpid: ObjectId, body: NoticeCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: launch.launch_design_notice(idem.ctx, rpid, body))


@router.post(
    P + "/design-notice/revisions",
    status_code=201,
    response_model=NoticeOut,
    summary="The design's second round: a revision of the first after its objections, linked",
)
async def revise_design_notice(rpid: ObjectId, body: RevisionIn, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: launch.revise_design_notice(idem.ctx, rpid, body))


@router.post(P + "/advance", summary="Move to the next phase; refused while this phase lacks its evidence")
async def advance(rpid: ObjectId, body: AdvanceIn, ctx: AuthCtx) -> ProjectOut:
    return await projects.advance(ctx, rpid, body)


@router.post(
    P + "/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Upload a payment voucher (image/PDF, admin) or a photo (admin or appointee)",
)
async def add_attachment(
    rpid: ObjectId,
    document: Document,
    idem: IdempotentUploadDep,
    purpose: Annotated[Literal["voucher", "photo"], Query()] = "photo",
) -> Response:
    return await idem.run(lambda: roles.add_attachment(idem.ctx, rpid, purpose, document))


# --- the three roles -------------------------------------------------------------------------------


@router.post(P + "/roles", status_code=201, response_model=RoleOut, summary="Appoint a resident (三员)")
async def appoint(rpid: ObjectId, body: RoleCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: roles.appoint(idem.ctx, rpid, body))


@router.get(P + "/roles", summary="The appointed opinion collectors, supervisors and inspectors")
async def list_roles(rpid: ObjectId, ctx: AuthCtx) -> list[RoleOut]:
    return await roles.list_roles(ctx, rpid)


@router.post(P + "/requests", status_code=201, response_model=RequestOut, summary="Log a resident's request")
async def log_request(rpid: ObjectId, body: RequestCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: roles.log_request(idem.ctx, rpid, body))


@router.get(P + "/requests", summary="Residents' requests and what became of them")
async def list_requests(rpid: ObjectId, ctx: AuthCtx) -> list[RequestOut]:
    return await roles.list_requests(ctx, rpid)


@router.post(P + "/requests/{request_id}/decision", summary="Turn a request into a ticket or a design change")
async def decide_request(
    rpid: ObjectId, request_id: ObjectId, body: RequestDecision, ctx: AuthCtx
) -> RequestOut:
    return await roles.decide_request(ctx, rpid, request_id, body)


@router.post(
    P + "/supervision",
    status_code=201,
    response_model=SupervisionOut,
    summary="A supervisor's inspection record; a problem opens a ticket for the contractor with a deadline",
)
async def supervise(rpid: ObjectId, body: SupervisionCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: roles.supervise(idem.ctx, rpid, body))


@router.get(P + "/supervision", summary="The supervisors' records")
async def list_supervision(rpid: ObjectId, ctx: AuthCtx) -> list[SupervisionOut]:
    return await roles.list_supervision(ctx, rpid)


@router.post(
    P + "/signoffs", status_code=201, response_model=SignOffOut, summary="An inspector signs an item off"
)
async def sign_off(rpid: ObjectId, body: SignOffCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: roles.sign_off(idem.ctx, rpid, body))


@router.get(P + "/signoffs", summary="The acceptance sign-offs")
async def list_signoffs(rpid: ObjectId, ctx: AuthCtx) -> list[SignOffOut]:
    return await roles.list_signoffs(ctx, rpid)


# --- schedule and approvals ------------------------------------------------------------------------


@router.post(P + "/milestones", status_code=201, response_model=MilestoneOut, summary="Add a milestone")
async def add_milestone(rpid: ObjectId, body: MilestoneCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: schedule.add_milestone(idem.ctx, rpid, body))


@router.get(P + "/milestones", summary="The schedule, planned vs actual, late ones flagged")
async def list_milestones(rpid: ObjectId, ctx: AuthCtx) -> list[MilestoneOut]:
    return await schedule.schedule(ctx, rpid)


@router.put(P + "/milestones/{milestone_id}", summary="Record a milestone's actual date")
async def complete_milestone(
    rpid: ObjectId, milestone_id: ObjectId, body: MilestoneUpdate, ctx: AuthCtx
) -> MilestoneOut:
    return await schedule.complete_milestone(ctx, rpid, milestone_id, body)


@router.post(
    P + "/milestones/{milestone_id}/notice",
    summary="Publish a works notice to the milestone's buildings",
)
async def works_notice(
    rpid: ObjectId, milestone_id: ObjectId, body: WorksNoticeIn, ctx: AuthCtx
) -> NoticeRefOut:
    return NoticeRefOut(notice_id=await schedule.works_notice(ctx, rpid, milestone_id, body.text))


@router.post(P + "/approval-steps", status_code=201, response_model=StepOut, summary="Add an approval step")
async def add_step(rpid: ObjectId, body: StepCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: schedule.add_step(idem.ctx, rpid, body))


@router.put(P + "/approval-steps/{step_id}", summary="Record the approval date")
async def approve_step(rpid: ObjectId, step_id: ObjectId, body: StepUpdate, ctx: AuthCtx) -> TimelineOut:
    return await schedule.approve_step(ctx, rpid, step_id, body)


@router.get(P + "/approval-steps", summary="The approval timeline in working days")
async def timeline(rpid: ObjectId, ctx: AuthCtx) -> TimelineOut:
    return await schedule.timeline(ctx, rpid)


@router.post(
    P + "/self-assessments",
    status_code=201,
    response_model=AssessmentOut,
    summary="Half-yearly self-assessment",
)
async def add_assessment(rpid: ObjectId, body: AssessmentCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: schedule.add_assessment(idem.ctx, rpid, body))


@router.get(P + "/self-assessments", summary="The half-yearly self-assessments")
async def list_assessments(rpid: ObjectId, ctx: AuthCtx) -> list[AssessmentOut]:
    return await schedule.list_assessments(ctx, rpid)


# --- funds ledger ----------------------------------------------------------------------------------


@router.post(P + "/sources", status_code=201, response_model=SourceOut, summary="Add a fund source")
async def add_source(rpid: ObjectId, body: SourceCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: ledger.add_source(idem.ctx, rpid, body))


@router.put(P + "/sources/{source_id}", summary="Update committed / received amounts")
async def update_source(rpid: ObjectId, source_id: ObjectId, body: SourceUpdate, ctx: AuthCtx) -> SourceOut:
    return await ledger.update_source(ctx, rpid, source_id, body)


@router.post(
    P + "/payments",
    status_code=201,
    response_model=PaymentOut,
    summary="Record a payment (never more than received for its source); appended to the hash chain",
)
async def record_payment(rpid: ObjectId, body: PaymentCreate, idem: IdempotentDep) -> Response:
    return await idem.run(lambda: ledger.record_payment(idem.ctx, rpid, body))


@router.get(P + "/ledger", summary="Balances per source and item; payment rows for committee and staff")
async def get_ledger(rpid: ObjectId, ctx: AuthCtx) -> LedgerOut:
    return await ledger.ledger(ctx, rpid)


@router.get(P + "/ledger/verify", summary="Recompute the hash chain; names the first tampered row")
async def verify(rpid: ObjectId, ctx: AuthCtx) -> VerifyOut:
    return await ledger.verify(ctx, rpid)


@router.get(
    P + "/ledger.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="The payments as CSV (UTF-8 with BOM)",
)
async def export_csv(rpid: ObjectId, ctx: AuthCtx) -> Response:
    name, data = await ledger.export_csv(ctx, rpid)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(P + "/ledger/summary", summary="The printable summary (markdown)")
async def summary(rpid: ObjectId, ctx: AuthCtx) -> SummaryOut:
    return SummaryOut(markdown=await ledger.summary_text(ctx, rpid))


@router.post(P + "/ledger/notice", summary="Publish the summary as a public notice (公示)")
async def publish_notice(rpid: ObjectId, ctx: AuthCtx) -> NoticeRefOut:
    return NoticeRefOut(notice_id=await ledger.publish_notice(ctx, rpid))


# --- annual plan and aftercare ---------------------------------------------------------------------


@router.post(
    "/renovation/prioritisation",
    summary="Rank candidate communities with the housing bureau's weights (platform admin); each term shown",
)
async def prioritise(body: PriorityIn, ctx: AuthCtx) -> PriorityOut:
    return await planning.rank(ctx, body)


@router.get(
    P + "/aftercare", summary="Repair timeliness and satisfaction before construction vs in aftercare"
)
async def aftercare(
    rpid: ObjectId, ctx: AuthCtx, months: Annotated[int, Query(ge=1, le=36)] = 6
) -> AftercareOut:
    return await planning.aftercare(ctx, rpid, months)
