"""Projects, their items, the evidence links of each phase and phase advancement.

A phase is left only with its evidence (renovation.phase_evidence_missing names what is missing):
planning → design needs the needs survey (问需) closed and at least one item; design → publicity the
design survey (问计) closed; publicity → approval the design notice in two published rounds (round 2
revising round 1); approval → construction every approval step approved and, where the law requires a
vote, the linked Civil Code vote passed; construction → acceptance every milestone done; acceptance →
aftercare a sign-off on every item, the latest of each a pass; aftercare → closed the satisfaction
survey (问效) closed and at least one half-yearly self-assessment.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from services import audit
from services.access import require_community
from services.communities.common import load_community
from services.errors import Conflict, InvalidInput
from services.models.base import utcnow
from services.models.notices import Notice, NoticeKind
from services.models.polls import Poll, PollKind
from services.models.renovation import (
    PHASES,
    ApprovalStep,
    ItemSignOff,
    Milestone,
    Payment,
    ProjectStatus,
    RenovationItem,
    RenovationProject,
    SelfAssessment,
)
from services.renovation.common import MANAGERS, check_buildings, community_today, fen, load_project
from services.renovation.schemas import (
    AdvanceIn,
    ItemCreate,
    ItemOut,
    LinksIn,
    PhaseEvidence,
    ProjectCreate,
    ProjectOut,
)
from services.runtime import Ctx

POLL_LINKS = {
    "needs_poll_id": PollKind.survey,
    "design_poll_id": PollKind.survey,
    "vote_poll_id": PollKind.vote,
    "satisfaction_poll_id": PollKind.survey,
}


async def create_project(ctx: Ctx, community_id: int, body: ProjectCreate) -> ProjectOut:
    principal = ctx.require_principal()
    require_community(principal, community_id, MANAGERS)
    await load_community(ctx, community_id)
    p = RenovationProject(
        community_id=community_id,
        title=body.title,
        year=body.year,
        batch=body.batch,
        created_by=principal.user_id,
    )
    ctx.session.add(p)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.project_create", "renovation_project", p.id, community_id=community_id
    )
    return await project_out(ctx, p)


async def list_projects(ctx: Ctx, community_id: int) -> list[ProjectOut]:
    require_community(ctx.require_principal(), community_id)
    rows = (
        await ctx.session.exec(
            select(RenovationProject)
            .where(RenovationProject.community_id == community_id)
            .order_by(col(RenovationProject.year).desc(), col(RenovationProject.id))
        )
    ).all()
    return [await project_out(ctx, p) for p in rows]


async def get_project(ctx: Ctx, project_id: int) -> ProjectOut:
    return await project_out(ctx, await load_project(ctx, project_id))


async def add_item(ctx: Ctx, project_id: int, body: ItemCreate) -> ItemOut:
    p = await load_project(ctx, project_id, lock=True)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    if p.status not in (ProjectStatus.planning, ProjectStatus.design):
        raise Conflict("renovation.phase_invalid", details={"status": p.status})
    try:
        ok = float(body.quantity) > 0
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput("renovation.invalid_quantity", details={"quantity": body.quantity})
    item = RenovationItem(
        project_id=p.id or 0,
        item_class=body.item_class,
        name=body.name,
        quantity=body.quantity,
        unit=body.unit,
        budget_fen=fen(body.budget_fen, "budget_fen"),
        contractor=body.contractor,
        building_ids=await check_buildings(ctx, p.community_id, body.building_ids),
    )
    ctx.session.add(item)
    await ctx.session.flush()
    await audit.record(ctx, "renovation.item_create", "renovation_item", item.id, community_id=p.community_id)
    return _item_out(item, 0, None)


async def set_links(ctx: Ctx, project_id: int, body: LinksIn) -> ProjectOut:
    p = await load_project(ctx, project_id, lock=True)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    if p.status == ProjectStatus.closed:
        raise Conflict("renovation.closed")
    given = body.model_dump(exclude_unset=True)
    for name, kind in POLL_LINKS.items():
        poll_id = given.get(name)
        if poll_id is None:
            continue
        poll = await ctx.session.get(Poll, poll_id)
        if poll is None or poll.community_id != p.community_id or poll.kind != kind:
            raise InvalidInput("renovation.poll_mismatch", details={"field": name, "poll_id": poll_id})
    for name in ("design_notice_id", "design_notice2_id"):
        notice_id = given.get(name)
        if notice_id is None:
            continue
        n = await ctx.session.get(Notice, notice_id)
        if n is None or n.community_id != p.community_id or n.kind != NoticeKind.publicity:
            raise InvalidInput("renovation.notice_mismatch", details={"field": name, "notice_id": notice_id})
    before = {k: getattr(p, k) for k in given}
    for k, v in given.items():
        if v is not None:
            setattr(p, k, v)
    p.updated_at = utcnow()
    ctx.session.add(p)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "renovation.links",
        "renovation_project",
        p.id,
        community_id=p.community_id,
        before=before,
        after={k: getattr(p, k) for k in given},
    )
    return await project_out(ctx, p)


async def advance(ctx: Ctx, project_id: int, body: AdvanceIn) -> ProjectOut:
    p = await load_project(ctx, project_id, lock=True)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    if p.status == ProjectStatus.closed:
        raise Conflict("renovation.closed")
    nxt = PHASES[PHASES.index(p.status) + 1]
    if body.to != nxt:
        raise Conflict("renovation.phase_invalid", details={"status": p.status, "next": nxt})
    missing = (await evidence(ctx, p))[p.status]
    if missing:
        raise Conflict("renovation.phase_evidence_missing", details={"phase": p.status, "missing": missing})
    before = p.status
    p.status = nxt
    if nxt == ProjectStatus.aftercare:
        p.aftercare_starts_on = await community_today(ctx, p.community_id)
    p.updated_at = utcnow()
    ctx.session.add(p)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "renovation.advance",
        "renovation_project",
        p.id,
        community_id=p.community_id,
        before={"status": before},
        after={"status": nxt},
    )
    return await project_out(ctx, p)


# --- evidence --------------------------------------------------------------------------------------


async def _poll_closed(ctx: Ctx, poll_id: int | None) -> Poll | None:
    if poll_id is None:
        return None
    poll = await ctx.session.get(Poll, poll_id)
    return poll if poll is not None and poll.closed_at is not None and poll.cancelled_at is None else None


def _vote_passed(poll: Poll | None) -> bool:
    if poll is None or not poll.result:
        return False
    decision: Any = poll.result.get("decision") or {}
    return isinstance(decision, dict) and decision.get("outcome") == "passed"


async def latest_signoffs(ctx: Ctx, project_id: int) -> dict[int, str]:
    rows = (
        await ctx.session.exec(
            select(ItemSignOff.item_id, ItemSignOff.verdict)
            .where(ItemSignOff.project_id == project_id)
            .order_by(col(ItemSignOff.id))
        )
    ).all()
    return dict(rows)  # later rows overwrite earlier ones: the latest verdict per item


async def evidence(ctx: Ctx, p: RenovationProject) -> dict[str, list[str]]:
    """What each phase still lacks before the project may leave it (empty: complete)."""
    s = ctx.session
    pid = p.id or 0
    items = list((await s.exec(select(RenovationItem.id).where(RenovationItem.project_id == pid))).all())
    out: dict[str, list[str]] = {phase: [] for phase in PHASES}
    if await _poll_closed(ctx, p.needs_poll_id) is None:
        out["planning"].append("needs_survey")
    if not items:
        out["planning"].append("items")
    if await _poll_closed(ctx, p.design_poll_id) is None:
        out["design"].append("design_survey")
    n1 = await s.get(Notice, p.design_notice_id) if p.design_notice_id else None
    n2 = await s.get(Notice, p.design_notice2_id) if p.design_notice2_id else None
    if n1 is None or n1.published_at is None:
        out["publicity"].append("design_notice_round1")
    if n2 is None or n2.published_at is None or n2.previous_id != p.design_notice_id:
        out["publicity"].append("design_notice_round2")
    steps = (await s.exec(select(col(ApprovalStep.approved_on)).where(ApprovalStep.project_id == pid))).all()
    if not steps or any(a is None for a in steps):
        out["approval"].append("approval_steps")
    if p.vote_required and not _vote_passed(await _poll_closed(ctx, p.vote_poll_id)):
        out["approval"].append("vote")
    milestones = (await s.exec(select(col(Milestone.actual_on)).where(Milestone.project_id == pid))).all()
    if not milestones or any(a is None for a in milestones):
        out["construction"].append("milestones")
    signed = await latest_signoffs(ctx, pid)
    if any(signed.get(i or 0) != "pass" for i in items) or not items:
        out["acceptance"].append("signoffs")
    if await _poll_closed(ctx, p.satisfaction_poll_id) is None:
        out["aftercare"].append("satisfaction_survey")
    assessed = (await s.exec(select(SelfAssessment.id).where(SelfAssessment.project_id == pid))).first()
    if assessed is None:
        out["aftercare"].append("self_assessment")
    return out


# --- output ----------------------------------------------------------------------------------------


def _item_out(i: RenovationItem, spent: int, signoff: str | None) -> ItemOut:
    return ItemOut(
        id=i.id or 0,
        item_class=i.item_class,
        name=i.name,
        quantity=i.quantity,
        unit=i.unit,
        budget_fen=i.budget_fen,
        spent_fen=spent,
        contractor=i.contractor,
        building_ids=list(i.building_ids or []),
        signoff=signoff,
    )


async def spent_per_item(ctx: Ctx, project_id: int) -> dict[int, int]:
    rows = (
        await ctx.session.exec(
            select(Payment.item_id, sa.func.sum(Payment.amount_fen))
            .where(Payment.project_id == project_id)
            .group_by(col(Payment.item_id))
        )
    ).all()
    spent: dict[int, int] = defaultdict(int)
    for item_id, total in rows:
        spent[item_id] = int(total or 0)
    return spent


async def project_out(ctx: Ctx, p: RenovationProject) -> ProjectOut:
    pid = p.id or 0
    items = (
        await ctx.session.exec(
            select(RenovationItem).where(RenovationItem.project_id == pid).order_by(col(RenovationItem.id))
        )
    ).all()
    spent = await spent_per_item(ctx, pid)
    signed = await latest_signoffs(ctx, pid)
    ev = await evidence(ctx, p)
    return ProjectOut(
        id=pid,
        community_id=p.community_id,
        title=p.title,
        year=p.year,
        batch=p.batch,
        status=p.status,
        needs_poll_id=p.needs_poll_id,
        design_poll_id=p.design_poll_id,
        design_notice_id=p.design_notice_id,
        design_notice2_id=p.design_notice2_id,
        vote_required=p.vote_required,
        vote_poll_id=p.vote_poll_id,
        satisfaction_poll_id=p.satisfaction_poll_id,
        aftercare_starts_on=p.aftercare_starts_on,
        items=[_item_out(i, spent.get(i.id or 0, 0), signed.get(i.id or 0)) for i in items],
        evidence=[PhaseEvidence(phase=ph, complete=not ev[ph], missing=ev[ph]) for ph in PHASES[:-1]],
        created_at=p.created_at,
    )
