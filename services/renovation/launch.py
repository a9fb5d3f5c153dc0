"""Phases' evidence launched from the project: the surveys and the vote are created in the polls
area and the design publicity in the notices area (their own rules, audit and notifications apply),
then linked to the project in the same transaction — never copied."""

from __future__ import annotations

from enum import StrEnum

from services import audit
from services.access import require_community
from services.errors import Conflict
from services.models.base import utcnow
from services.models.notices import NoticeKind
from services.models.polls import PollKind
from services.models.renovation import ProjectStatus, RenovationProject
from services.notices import service as notices
from services.notices.schemas import NoticeCreate, NoticeOut, RevisionIn
from services.polls import service as polls
from services.polls.schemas import PollCreate, PollOut
from services.renovation.common import APPOINTERS, load_project
from services.runtime import Ctx


class PollPhase(StrEnum):
    needs = "needs"  # 问需
    design = "design"  # 问计
    vote = "vote"  # the Civil Code vote where the law requires one
    satisfaction = "satisfaction"  # 问效


# phase → (the project's link field, the poll kind it must be)
PHASE_POLLS: dict[PollPhase, tuple[str, PollKind]] = {
    PollPhase.needs: ("needs_poll_id", PollKind.survey),
    PollPhase.design: ("design_poll_id", PollKind.survey),
    PollPhase.vote: ("vote_poll_id", PollKind.vote),
    PollPhase.satisfaction: ("satisfaction_poll_id", PollKind.survey),
}


async def _open_project(ctx: Ctx, project_id: int) -> RenovationProject:
    p = await load_project(ctx, project_id, lock=True)
    require_community(ctx.require_principal(), p.community_id, APPOINTERS)
    if p.status == ProjectStatus.closed:
        raise Conflict("renovation.closed")
    return p


async def _link(ctx: Ctx, p: RenovationProject, field: str, value: int, **extra: object) -> None:
    before = {field: getattr(p, field), **{k: getattr(p, k) for k in extra}}
    setattr(p, field, value)
    for k, v in extra.items():
        setattr(p, k, v)
    p.updated_at = utcnow()
    ctx.session.add(p)
    await ctx.session.flush()
    after = {field: value, **extra}
    await audit.record(
        ctx, "renovation.links", "renovation_project", p.id, community_id=p.community_id,
        before=before, after=after,
    )  # fmt: skip


async def launch_poll(ctx: Ctx, project_id: int, phase: PollPhase, body: PollCreate) -> PollOut:
    """Create the phase's survey (or the vote) for the project's community and link it; the kind
    is the phase's. A vote makes the project require it."""
    p = await _open_project(ctx, project_id)
    field, kind = PHASE_POLLS[phase]
    poll = await polls.create_poll(ctx, p.community_id, body.model_copy(update={"kind": kind}))
    extra: dict[str, object] = {"vote_required": True} if phase == PollPhase.vote else {}
    await _link(ctx, p, field, poll.id, **extra)
    return poll


async def launch_design_notice(ctx: Ctx, project_id: int, body: NoticeCreate) -> NoticeOut:
    """The design's first publicity round (a draft or scheduled publicity notice, linked)."""
    p = await _open_project(ctx, project_id)
    notice = await notices.create_notice(
        ctx, p.community_id, body.model_copy(update={"kind": NoticeKind.publicity})
    )
    await _link(ctx, p, "design_notice_id", notice.id)
    return notice


async def revise_design_notice(ctx: Ctx, project_id: int, body: RevisionIn) -> NoticeOut:
    """The second round: a revision of the linked first round (after its objections), linked."""
    p = await _open_project(ctx, project_id)
    if p.design_notice_id is None:
        raise Conflict("renovation.design_notice_missing")
    revision = await notices.revise(ctx, p.design_notice_id, body)
    await _link(ctx, p, "design_notice2_id", revision.id)
    return revision
