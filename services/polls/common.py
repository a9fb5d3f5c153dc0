"""Helpers shared by the polls area: loading a poll within reach, its status and its questions."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

# Imported for their side effects: this area's error codes and inbox templates.
import services.polls.messages
import services.polls.templates  # noqa: F401
from services import access
from services.access import Principal
from services.errors import NotFound
from services.models import Role
from services.models.polls import Poll, PollOption, PollQuestion
from services.polls.schemas import OptionOut, QuestionOut, Status
from services.runtime import Ctx

# Who creates polls and always sees results and the ballot chain (besides the author).
MANAGERS = (Role.committee_member, Role.community_admin)


def status_of(poll: Poll, now: datetime) -> Status:
    if poll.cancelled_at is not None:
        return "cancelled"
    if poll.closed_at is not None or now >= poll.closes_at:
        return "closed"
    if now < poll.opens_at:
        return "scheduled"
    return "open"


def is_manager(principal: Principal, poll: Poll) -> bool:
    if principal.is_platform_admin or poll.author_id == principal.user_id:
        return True
    return bool(set(MANAGERS) & principal.roles_in(poll.community_id))


async def load_poll(ctx: Ctx, poll_id: int, *, lock: bool = False) -> Poll:
    """The poll if it is in one of the caller's communities, else 404."""
    p = ctx.require_principal()
    query = select(Poll).where(Poll.id == poll_id, access.community_filter(p, Poll.community_id))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    poll = (await ctx.session.exec(query)).first()
    if poll is None:
        raise NotFound("poll.not_found")
    return poll


async def load_questions(
    session: AsyncSession, poll_id: int
) -> tuple[list[PollQuestion], dict[int, list[PollOption]]]:
    questions = list(
        (
            await session.exec(
                select(PollQuestion)
                .where(PollQuestion.poll_id == poll_id)
                .order_by(col(PollQuestion.position))
            )
        ).all()
    )
    options: dict[int, list[PollOption]] = defaultdict(list)
    for o in (
        await session.exec(
            select(PollOption)
            .where(PollOption.poll_id == poll_id)
            .order_by(col(PollOption.question_id), col(PollOption.position))
        )
    ).all():
        options[o.question_id].append(o)
    return questions, options


def questions_out(questions: list[PollQuestion], options: dict[int, list[PollOption]]) -> list[QuestionOut]:
    return [
        QuestionOut(
            id=q.id or 0,
            position=q.position,
            text=q.text,
            type=q.type,  # type: ignore[arg-type]
            required=q.required,
            max_choices=q.max_choices,
            options=[OptionOut(id=o.id or 0, text=o.text) for o in options.get(q.id or 0, [])],
        )
        for q in questions
    ]
