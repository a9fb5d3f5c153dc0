"""Polls: creation by the committee or community admin, lists, detail, closing and the open notice."""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import access, audit
from services.communities.common import load_community
from services.errors import Conflict, Forbidden, InvalidInput
from services.i18n import DEFAULT_LOCALE
from services.models import Community, Membership, MembershipStatus, Relation, Role, utcnow
from services.models.polls import Ballot, DecisionRule, Eligibility, Poll, PollKind, PollOption, PollQuestion
from services.notifications.fanout import notify_later
from services.notifications.outbox import notify
from services.pagination import id_after, next_id_cursor
from services.polls import results, rules
from services.polls.common import MANAGERS, is_manager, load_poll, load_questions, questions_out, status_of
from services.polls.schemas import PollCreate, PollListItem, PollOut, ResultsOut, Status
from services.polls.templates import KIND_ZH
from services.runtime import Ctx
from services.schemas import Page

# Above this many recipients the open notice goes through a chunked fan-out (services.notifications.fanout).
INLINE_RECIPIENTS = 500


async def create_poll(ctx: Ctx, community_id: int, body: PollCreate) -> PollOut:
    p = ctx.require_principal()
    access.require_community(p, community_id, MANAGERS)
    await load_community(ctx, community_id)
    now = utcnow()
    opens = body.opens_at or now
    if not (body.closes_at > opens and body.closes_at > now):
        raise InvalidInput("poll.invalid_times")
    if body.notice_id is not None:
        await _check_notice(ctx.session, community_id, body.notice_id)
    poll = Poll(
        community_id=community_id,
        notice_id=body.notice_id,
        author_id=p.user_id,
        title=body.title,
        description=body.description,
        kind=body.kind,
        anonymous=body.anonymous,
        eligibility=body.eligibility or Eligibility.households,
        results_visibility=body.results_visibility,
        decision_rule=body.decision_rule or DecisionRule.ordinary,
        households_ratio=body.households_ratio,
        area_ratio=body.area_ratio,
        opens_at=opens,
        closes_at=body.closes_at,
    )
    fixed = rules.ratios_of(poll.decision_rule)
    if fixed is not None:  # a named rule fixes its ratios; the poll row shows them
        poll.households_ratio, poll.area_ratio = fixed
    ctx.session.add(poll)
    await ctx.session.flush()
    assert poll.id is not None
    questions = [
        PollQuestion(
            poll_id=poll.id,
            position=i,
            text=q.text,
            type=q.type,
            required=q.required,
            max_choices=1 if q.type == "single" else q.max_choices,
        )
        for i, q in enumerate(body.questions)
    ]
    ctx.session.add_all(questions)
    await ctx.session.flush()
    ctx.session.add_all(
        PollOption(poll_id=poll.id, question_id=row.id or 0, position=j, text=text)
        for row, q in zip(questions, body.questions, strict=True)
        for j, text in enumerate(q.options)
    )
    if body.decision_question is not None:
        poll.decision_question_id = questions[body.decision_question].id
        ctx.session.add(poll)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "poll.create",
        "poll",
        poll.id,
        community_id=community_id,
        after={
            "title": poll.title,
            "kind": poll.kind,
            "eligibility": poll.eligibility,
            "anonymous": poll.anonymous,
            "opens_at": poll.opens_at,
            "closes_at": poll.closes_at,
            "decision_rule": poll.decision_rule,
            "households_ratio": poll.households_ratio,
            "area_ratio": poll.area_ratio,
        },
    )
    if opens <= now:
        await announce(ctx.session, poll, now)
    return await _poll_out(ctx, poll, now)


async def _check_notice(session: AsyncSession, community_id: int, notice_id: int) -> None:
    """Validate the notice when the notices area is installed; otherwise the id is kept as given."""
    try:
        notice_cls: Any = importlib.import_module("services.models.notices").Notice
    except (ImportError, AttributeError):
        return
    row = await session.get(notice_cls, notice_id)
    if row is None or getattr(row, "community_id", community_id) != community_id:
        raise InvalidInput("poll.notice_not_found")


async def announce(session: AsyncSession, poll: Poll, now: datetime) -> int:
    """Tell the eligible households' residents that a poll is open; returns the recipient count."""
    assert poll.id is not None
    recipients = await eligible_residents(session, poll)
    zone = (await session.exec(select(Community.time_zone).where(Community.id == poll.community_id))).one()
    data = {
        "id": poll.id,
        "poll_id": poll.id,
        "title": poll.title,
        "kind": poll.kind,
        "kind_zh": KIND_ZH.get(poll.kind, poll.kind),
        "closes": poll.closes_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M"),
    }
    await _tell(session, poll, recipients, "poll.opened", data, f"poll:{poll.id}:opened")
    poll.announced_at = now
    session.add(poll)
    await session.flush()
    return len(recipients)


async def eligible_residents(session: AsyncSession, poll: Poll) -> list[int]:
    """Verified residents of the households that may vote (owners only on owner polls)."""
    query = select(Membership.user_id).where(
        Membership.community_id == poll.community_id,
        Membership.role == Role.resident,
        Membership.status == MembershipStatus.verified,
        col(Membership.household_id).is_not(None),
    )
    if poll.eligibility == Eligibility.owners:
        query = query.where(Membership.relation == Relation.owner)
    return sorted(set((await session.exec(query)).all()))


async def _tell(
    session: AsyncSession, poll: Poll, recipients: list[int], template: str, data: dict[str, Any], key: str
) -> None:
    if len(recipients) > INLINE_RECIPIENTS:
        await notify_later(session, recipients, "poll", template, data, key, community_id=poll.community_id)
    elif recipients:
        await notify(session, recipients, "poll", template, data, key, community_id=poll.community_id)


async def tell_result(session: AsyncSession, poll: Poll, result: ResultsOut) -> None:
    """Every eligible household hears the outcome of a closed vote, in the close's transaction."""
    assert poll.id is not None
    d, t = result.decision, result.turnout
    outcome = d.outcome if d is not None else None
    zh, en = rules.VERDICT.get(outcome or "", ("已结束", "closed"))
    winner = next((o.text for o in d.options if o.option_id == d.passed_option_id), None) if d else None
    data = {
        "id": poll.id,
        "poll_id": poll.id,
        "title": poll.title,
        "outcome": outcome,
        "verdict_zh": f"{zh}（{winner}）" if winner else zh,
        "verdict": f"{en} ({winner})" if winner else en,
        "households_voted": t.households_voted,
        "households_total": t.households_total,
        "area_voted": f"{t.area_voted_m2:f}",
        "area_total": f"{t.area_total_m2:f}",
    }
    recipients = await eligible_residents(session, poll)
    await _tell(session, poll, recipients, "poll.closed", data, f"poll:{poll.id}:closed")


def _item(poll: Poll, now: datetime) -> dict[str, Any]:
    return {
        "id": poll.id or 0,
        "community_id": poll.community_id,
        "notice_id": poll.notice_id,
        "author_id": poll.author_id,
        "title": poll.title,
        "kind": poll.kind,
        "status": status_of(poll, now),
        "anonymous": poll.anonymous,
        "eligibility": poll.eligibility,
        "results_visibility": poll.results_visibility,
        "opens_at": poll.opens_at,
        "closes_at": poll.closes_at,
        "closed_at": poll.closed_at,
        "ballot_count": poll.ballot_count,
        "created_at": poll.created_at,
    }


async def _poll_out(ctx: Ctx, poll: Poll, now: datetime) -> PollOut:
    assert poll.id is not None
    questions, options = await load_questions(ctx.session, poll.id)
    mine = list(ctx.require_principal().households.get(poll.community_id, {}))
    voted: list[int] = []
    if mine:
        voted = sorted(
            (
                await ctx.session.exec(
                    select(Ballot.household_id).where(
                        Ballot.poll_id == poll.id, col(Ballot.household_id).in_(mine)
                    )
                )
            ).all()
        )
    return PollOut(
        **_item(poll, now),
        description=poll.description,
        decision_question_id=poll.decision_question_id,
        decision_rule=poll.decision_rule,  # type: ignore[arg-type]
        households_ratio=poll.households_ratio,
        area_ratio=poll.area_ratio,
        cancelled_at=poll.cancelled_at,
        questions=questions_out(questions, options),
        voted_household_ids=voted,
    )


async def get_poll(ctx: Ctx, poll_id: int) -> PollOut:
    poll = await load_poll(ctx, poll_id)
    return await _poll_out(ctx, poll, utcnow())


async def list_polls(
    ctx: Ctx, community_id: int, status: Status | None, limit: int, cursor: str | None
) -> Page[PollListItem]:
    access.require_community(ctx.require_principal(), community_id)
    now = utcnow()
    query = select(Poll).where(Poll.community_id == community_id)
    after = id_after(cursor)
    if after is not None:
        query = query.where(col(Poll.id) < after)
    live = col(Poll.cancelled_at).is_(None) & col(Poll.closed_at).is_(None)
    if status == "cancelled":
        query = query.where(col(Poll.cancelled_at).is_not(None))
    elif status == "scheduled":
        query = query.where(live, Poll.opens_at > now)
    elif status == "open":
        query = query.where(live, Poll.opens_at <= now, Poll.closes_at > now)
    elif status == "closed":
        query = query.where(
            col(Poll.cancelled_at).is_(None),
            col(Poll.closed_at).is_not(None) | (Poll.closes_at <= now),
        )
    rows = (await ctx.session.exec(query.order_by(col(Poll.id).desc()).limit(limit))).all()
    return Page[PollListItem](
        items=[PollListItem(**_item(r, now)) for r in rows],
        next_cursor=next_id_cursor([r.id or 0 for r in rows], limit),
    )


async def close_poll(ctx: Ctx, poll_id: int, cancel: bool) -> PollOut:
    """Freeze the results once closes_at has passed (the job does the same), or cancel earlier."""
    p = ctx.require_principal()
    poll = await load_poll(ctx, poll_id, lock=True)
    if not is_manager(p, poll):
        raise Forbidden()
    if poll.closed_at is not None or poll.cancelled_at is not None:
        raise Conflict("poll.already_closed")
    now = utcnow()
    if now < poll.closes_at and not cancel:
        raise InvalidInput("poll.not_due", details={"closes_at": poll.closes_at.isoformat()})
    await freeze(ctx.session, poll, now, cancelled=cancel)
    await audit.record(
        ctx,
        "poll.cancel" if cancel else "poll.close",
        "poll",
        poll.id,
        community_id=poll.community_id,
        after={"closed_at": now, "ballots": poll.ballot_count},
    )
    return await _poll_out(ctx, poll, now)


async def freeze(
    session: AsyncSession, poll: Poll, now: datetime, *, cancelled: bool = False, tell: bool = True
) -> None:
    """Close the poll and store its final result snapshot (closed results are then one row read);
    a closed vote's result goes to every eligible household in the same transaction."""
    poll.closed_at = now
    if cancelled:
        poll.cancelled_at = now
    # Stored with its zh-CN sentences; a reader in another language gets them rewritten on read.
    snapshot = results.localise(await results.tally(session, poll, now, final=True), DEFAULT_LOCALE)
    poll.result = snapshot.model_dump(mode="json")
    session.add(poll)
    await session.flush()
    if tell and not cancelled and poll.kind == PollKind.vote:
        await tell_result(session, poll, snapshot)
