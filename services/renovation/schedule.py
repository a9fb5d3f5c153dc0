"""The schedule (施工节点计划表), works notices to the buildings concerned, the approval timeline in
working days (the tickets' statutory calendar with the community's exceptions), self-assessments."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from services import audit
from services.access import require_community
from services.errors import Conflict, InvalidInput, NotFound
from services.models.renovation import (
    ApprovalStep,
    Milestone,
    ProjectStatus,
    RenovationProject,
    SelfAssessment,
)
from services.renovation.common import (
    MANAGERS,
    check_buildings,
    community_today,
    load_item,
    load_project,
    project_rows,
)
from services.renovation.schemas import (
    AssessmentCreate,
    AssessmentOut,
    MilestoneCreate,
    MilestoneOut,
    MilestoneUpdate,
    StepCreate,
    StepOut,
    StepUpdate,
    TimelineOut,
)
from services.runtime import Ctx
from services.tickets.sla import load_exceptions, statutory_days


def _milestone_out(m: Milestone, today: date) -> MilestoneOut:
    done = m.actual_on
    days = ((done or today) - m.planned_on).days
    late = days > 0 if done else today > m.planned_on
    return MilestoneOut(
        id=m.id or 0,
        name=m.name,
        item_id=m.item_id,
        planned_on=m.planned_on,
        actual_on=m.actual_on,
        building_ids=list(m.building_ids or []),
        late=late,
        days_late=max(days, 0),
    )


async def _managed(ctx: Ctx, project_id: int) -> RenovationProject:
    p = await load_project(ctx, project_id)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    if p.status == ProjectStatus.closed:
        raise Conflict("renovation.closed")
    return p


async def add_milestone(ctx: Ctx, project_id: int, body: MilestoneCreate) -> MilestoneOut:
    p = await _managed(ctx, project_id)
    if body.item_id is not None:
        await load_item(ctx, p, body.item_id)
    m = Milestone(
        project_id=p.id or 0,
        item_id=body.item_id,
        name=body.name,
        planned_on=body.planned_on,
        actual_on=body.actual_on,
        building_ids=await check_buildings(ctx, p.community_id, body.building_ids),
    )
    ctx.session.add(m)
    await ctx.session.flush()
    return _milestone_out(m, await community_today(ctx, p.community_id))


async def complete_milestone(
    ctx: Ctx, project_id: int, milestone_id: int, body: MilestoneUpdate
) -> MilestoneOut:
    p = await _managed(ctx, project_id)
    m = await ctx.session.get(Milestone, milestone_id)
    if m is None or m.project_id != p.id:
        raise NotFound("renovation.milestone_not_found")
    before = m.actual_on
    m.actual_on = body.actual_on
    ctx.session.add(m)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.milestone_done", "renovation_milestone", m.id, community_id=p.community_id,
        before={"actual_on": before}, after={"actual_on": m.actual_on},
    )  # fmt: skip
    return _milestone_out(m, await community_today(ctx, p.community_id))


async def schedule(ctx: Ctx, project_id: int) -> list[MilestoneOut]:
    """Everyone in the community reads the schedule; late milestones are flagged against the community's today."""
    p = await load_project(ctx, project_id)
    today = await community_today(ctx, p.community_id)
    rows = await project_rows(ctx, Milestone, p, col(Milestone.planned_on), col(Milestone.id))
    return [_milestone_out(m, today) for m in rows]


async def works_notice(ctx: Ctx, project_id: int, milestone_id: int, text: str) -> int:
    """Tell the residents of the milestone's buildings (all of them when it has none) about works that
    affect them (water, power, access), as an announcement through the notices area."""
    from services.notices import service as notices
    from services.notices.schemas import NoticeCreate, PublishIn

    p = await _managed(ctx, project_id)
    m = await ctx.session.get(Milestone, milestone_id)
    if m is None or m.project_id != p.id:
        raise NotFound("renovation.milestone_not_found")
    buildings = list(m.building_ids or [])
    created = await notices.create_notice(
        ctx,
        p.community_id,
        NoticeCreate(
            kind="announcement",  # type: ignore[arg-type]  # validated to the enum
            title=f"施工通知：{m.name}"[:200],
            body_md=text,
            audience_type="buildings" if buildings else "community",  # type: ignore[arg-type]
            audience_building_ids=buildings,
        ),
    )
    published = await notices.publish(ctx, created.id, PublishIn())
    return published.id


# --- approval timeline -----------------------------------------------------------------------------


def working_days(start: date, end: date, extra_work: frozenset[date], extra_off: frozenset[date]) -> int:
    """Working days after `start` up to and including `end` (submitted Monday, approved Wednesday: 2)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day in extra_work:
            count += 1
            continue
        if day in extra_off:
            continue
        days_off, makeup = statutory_days(day.year)
        if day in days_off:
            continue
        if day.weekday() >= 5 and day not in makeup:
            continue
        count += 1
    return count


async def add_step(ctx: Ctx, project_id: int, body: StepCreate) -> StepOut:
    p = await _managed(ctx, project_id)
    if body.approved_on is not None and body.approved_on < body.submitted_on:
        raise InvalidInput("renovation.bad_dates")
    s = ApprovalStep(
        project_id=p.id or 0, name=body.name, submitted_on=body.submitted_on, approved_on=body.approved_on
    )
    ctx.session.add(s)
    await ctx.session.flush()
    return (await timeline(ctx, project_id)).steps[-1]


async def approve_step(ctx: Ctx, project_id: int, step_id: int, body: StepUpdate) -> TimelineOut:
    p = await _managed(ctx, project_id)
    s = await ctx.session.get(ApprovalStep, step_id)
    if s is None or s.project_id != p.id:
        raise NotFound("renovation.step_not_found")
    if body.approved_on < s.submitted_on:
        raise InvalidInput("renovation.bad_dates")
    s.approved_on = body.approved_on
    ctx.session.add(s)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.step_approved", "renovation_approval_step", s.id, community_id=p.community_id,
        after={"approved_on": s.approved_on},
    )  # fmt: skip
    return await timeline(ctx, project_id)


async def timeline(ctx: Ctx, project_id: int) -> TimelineOut:
    p = await load_project(ctx, project_id)
    extra_work, extra_off = await load_exceptions(ctx.session, p.community_id)
    rows = await project_rows(ctx, ApprovalStep, p, col(ApprovalStep.submitted_on), col(ApprovalStep.id))
    steps = [
        StepOut(
            id=s.id or 0,
            name=s.name,
            submitted_on=s.submitted_on,
            approved_on=s.approved_on,
            working_days=(
                working_days(s.submitted_on, s.approved_on, extra_work, extra_off) if s.approved_on else None
            ),
        )
        for s in rows
    ]
    total = None
    if steps and all(s.approved_on for s in rows):
        last = max(s.approved_on for s in rows if s.approved_on)
        total = working_days(min(s.submitted_on for s in rows), last, extra_work, extra_off)
    return TimelineOut(steps=steps, total_working_days=total)


# --- half-yearly self-assessment -------------------------------------------------------------------


async def add_assessment(ctx: Ctx, project_id: int, body: AssessmentCreate) -> AssessmentOut:
    p = await load_project(ctx, project_id)
    principal = ctx.require_principal()
    require_community(principal, p.community_id, MANAGERS)
    if p.status not in (ProjectStatus.aftercare, ProjectStatus.closed):
        raise Conflict("renovation.phase_invalid", details={"status": p.status})
    row = SelfAssessment(
        project_id=p.id or 0,
        period=body.period,
        summary=body.summary,
        scores=dict(body.scores),
        author_id=principal.user_id,
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(row)
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict("renovation.period_exists", details={"period": body.period}) from exc
    return AssessmentOut.model_validate(row, from_attributes=True)


async def list_assessments(ctx: Ctx, project_id: int) -> list[AssessmentOut]:
    p = await load_project(ctx, project_id)
    rows = await project_rows(ctx, SelfAssessment, p, col(SelfAssessment.period))
    return [AssessmentOut.model_validate(r, from_attributes=True) for r in rows]
