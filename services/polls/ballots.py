"""Casting a ballot (one per household, immutable, hash-chained) and verifying the chain.

Concurrency: the ballot's seq comes from `UPDATE poll SET ballot_count = ballot_count + 1 … RETURNING`,
which holds the poll row lock until commit (PostgreSQL; SQLite has one writer at a time), so seq and
prev_hash are assigned in commit order. Two members of one household casting at the same moment both
pass the early duplicate check; the UNIQUE (poll_id, household_id) constraint, hit inside a
savepoint, turns the second into a 409 `poll.already_voted`. On SQLite the second writer's stale
snapshot makes its write fail; the cast is then retried on a fresh snapshot (see cast_ballot).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import access, audit
from services.errors import Conflict, Forbidden, InvalidInput
from services.models import Relation, utcnow
from services.models.polls import (
    Ballot,
    BallotAnswer,
    BallotChannel,
    BallotVoter,
    Eligibility,
    Poll,
    PollOption,
    PollQuestion,
    QuestionType,
)
from services.polls import chain
from services.polls.common import is_manager, load_poll, load_questions, status_of
from services.polls.schemas import AnswerIn, BallotIn, BallotOut, VerifyOut
from services.runtime import Ctx

SQLITE_ATTEMPTS = 3


def check_answers(
    questions: Sequence[PollQuestion], options: dict[int, list[PollOption]], answers: Sequence[AnswerIn]
) -> list[chain.Answer]:
    """Normalised answers (question id, sorted option ids, text); empty answers count as skipped."""
    by_id = {q.id: q for q in questions}
    seen: set[int] = set()
    out: list[chain.Answer] = []
    for a in answers:
        q = by_id.get(a.question_id)
        if q is None or q.id is None:
            raise InvalidInput("poll.unknown_question", details={"question_id": a.question_id})
        if q.id in seen:
            raise InvalidInput("poll.duplicate_answer", details={"question_id": q.id})
        seen.add(q.id)
        if q.type == QuestionType.text:
            if a.option_ids:
                raise InvalidInput("poll.answer_invalid", details={"question_id": q.id})
            text = (a.text or "").strip()
            if text:
                out.append((q.id, [], text))
            continue
        if a.text:
            raise InvalidInput("poll.answer_invalid", details={"question_id": q.id})
        ids = list(a.option_ids or [])
        valid = {o.id for o in options.get(q.id, [])}
        unknown = sorted(set(ids) - valid)
        if unknown:
            raise InvalidInput("poll.unknown_option", details={"question_id": q.id, "option_ids": unknown})
        if len(set(ids)) != len(ids):
            raise InvalidInput("poll.duplicate_answer", details={"question_id": q.id})
        limit = 1 if q.type == QuestionType.single else (q.max_choices or len(valid))
        if len(ids) > limit:
            raise InvalidInput("poll.too_many_choices", details={"question_id": q.id, "max_choices": limit})
        if ids:
            out.append((q.id, sorted(ids), None))
    answered = {a[0] for a in out}
    missing = [q.id for q in questions if q.required and q.id not in answered]
    if missing:
        raise InvalidInput("poll.answer_required", details={"question_ids": missing})
    return out


async def cast_ballot(ctx: Ctx, poll_id: int, body: BallotIn) -> BallotOut:
    p = ctx.require_principal()
    for attempt in range(1, SQLITE_ATTEMPTS + 1):
        try:
            return await _cast(ctx, poll_id, body)
        except OperationalError as exc:
            # SQLite only: another writer holds or has just released the write lock, and this
            # transaction's read snapshot may not write ("database is locked"). Nothing was written
            # yet: start over in a new transaction that takes the write lock first (waiting for the
            # other writer to commit), so the duplicate check sees its ballot. PostgreSQL waits on
            # the poll row lock instead and never gets here.
            stale = ctx.session.get_bind().dialect.name == "sqlite" and "locked" in str(exc).lower()
            if not stale or attempt == SQLITE_ATTEMPTS:
                raise
            await ctx.session.rollback()
            table = Poll.__table__  # type: ignore[attr-defined]
            await ctx.session.execute(
                sa.update(table).where(table.c.id == poll_id).values(ballot_count=table.c.ballot_count)
            )
            await ctx.session.refresh(p.user)
    raise AssertionError("unreachable")


async def _cast(ctx: Ctx, poll_id: int, body: BallotIn) -> BallotOut:
    p = ctx.require_principal()
    poll = await load_poll(ctx, poll_id)
    assert poll.id is not None
    access.require_verified_resident(p, poll.community_id, body.household_id)
    relation = p.households.get(poll.community_id, {}).get(body.household_id)
    if poll.eligibility == Eligibility.owners and relation != Relation.owner:
        raise Forbidden("poll.not_owner")
    now = utcnow()
    status = status_of(poll, now)
    if status != "open":
        raise InvalidInput("poll.not_open", details={"status": status})
    questions, options = await load_questions(ctx.session, poll.id)
    answers = check_answers(questions, options, body.answers)
    await refuse_second_ballot(ctx.session, poll.id, body.household_id, BallotChannel.app)
    ballot = await append_ballot(
        ctx.session, poll, body.household_id, p.user_id, BallotChannel.app, answers, now
    )
    await _sign(ctx, poll, ballot, body)
    if poll.anonymous:
        # No ballot id or hash next to the actor: the audit row only says someone cast on this poll.
        await audit.record(ctx, "ballot.cast", "poll", poll.id, community_id=poll.community_id)
    else:
        await audit.record(
            ctx,
            "ballot.cast",
            "ballot",
            ballot.id,
            community_id=poll.community_id,
            after={
                "poll_id": poll.id,
                "household_id": ballot.household_id,
                "seq": ballot.seq,
                "hash": ballot.hash,
            },
        )
    return BallotOut.model_validate(ballot)


async def refuse_second_ballot(session: AsyncSession, poll_id: int, household_id: int, channel: str) -> None:
    """One ballot per household: 409, naming the other channel when the household voted there."""
    taken = (
        await session.exec(
            select(Ballot.channel).where(Ballot.poll_id == poll_id, Ballot.household_id == household_id)
        )
    ).first()
    if taken is None:
        return
    if taken == BallotChannel.paper and channel != BallotChannel.paper:
        raise Conflict("poll.voted_on_paper", details={"channel": taken})
    if taken != BallotChannel.paper and channel == BallotChannel.paper:
        raise Conflict("poll.voted_in_app", details={"channel": taken})
    raise Conflict("poll.already_voted", details={"channel": taken})


async def _sign(ctx: Ctx, poll: Poll, ballot: Ballot, body: BallotIn) -> None:
    """Mark the free-text answers the voter chose to sign (a display choice, outside the hash chain:
    it changes who may read the name, not the vote)."""
    signed = sorted({a.question_id for a in body.answers if a.signed and a.text})
    if poll.anonymous or not signed:
        return
    table = BallotAnswer.__table__  # type: ignore[attr-defined]
    await ctx.session.execute(
        sa.update(table)
        .where(table.c.ballot_id == ballot.id, table.c.question_id.in_(signed), table.c.text.is_not(None))
        .values(signed=True)
    )


async def append_ballot(
    session: AsyncSession,
    poll: Poll,
    household_id: int,
    voter_id: int | None,
    channel: str,
    answers: Sequence[chain.Answer],
    now: datetime,
    *,
    recorded_by: int | None = None,
    form_sha256: str | None = None,
) -> Ballot:
    """Link one ballot onto the poll's chain (the caller has checked eligibility and answers)."""
    assert poll.id is not None
    table = Poll.__table__  # type: ignore[attr-defined]
    seq, prev = (
        await session.execute(
            sa.update(table)
            .where(table.c.id == poll.id)
            .values(ballot_count=table.c.ballot_count + 1)
            .returning(table.c.ballot_count, table.c.last_hash)
        )
    ).one()
    voter = chain.voter_marker(voter_id, poll.anonymous, channel)
    payload = chain.canonical(
        poll.id, seq, household_id, voter, channel, answers, now, recorded_by, form_sha256
    )
    ballot = Ballot(
        poll_id=poll.id,
        household_id=household_id,
        seq=seq,
        prev_hash=prev,
        hash=chain.link(prev, payload),
        voter_id=None if poll.anonymous else voter_id,
        channel=channel,
        cast_at=now,
        recorded_by_id=recorded_by,
        form_sha256=form_sha256,
    )
    try:
        async with session.begin_nested():
            session.add(ballot)
            await session.flush()
            assert ballot.id is not None
            session.add_all(
                BallotAnswer(ballot_id=ballot.id, question_id=q, option_id=o)
                for q, opts, _ in answers
                for o in opts
            )
            session.add_all(
                BallotAnswer(ballot_id=ballot.id, question_id=q, text=text)
                for q, _, text in answers
                if text is not None
            )
            if poll.anonymous and voter_id is not None:
                session.add(BallotVoter(poll_id=poll.id, household_id=household_id, voter_id=voter_id))
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("poll.already_voted") from exc
    await session.execute(sa.update(table).where(table.c.id == poll.id).values(last_hash=ballot.hash))
    return ballot


async def stored_chain(session: AsyncSession, poll: Poll) -> list[chain.StoredBallot]:
    """Every ballot of the poll with its canonical payload rebuilt from the stored rows."""
    assert poll.id is not None
    ballots = (
        await session.exec(select(Ballot).where(Ballot.poll_id == poll.id).order_by(col(Ballot.seq)))
    ).all()
    answers: dict[int, dict[int, tuple[list[int], str | None]]] = defaultdict(dict)
    for ballot_id, question_id, option_id, text in (
        await session.exec(
            select(
                BallotAnswer.ballot_id, BallotAnswer.question_id, BallotAnswer.option_id, BallotAnswer.text
            )
            .join(Ballot, col(Ballot.id) == BallotAnswer.ballot_id)
            .where(Ballot.poll_id == poll.id)
        )
    ).all():
        opts, old_text = answers[ballot_id].get(question_id, ([], None))
        if option_id is not None:
            opts = [*opts, option_id]
        answers[ballot_id][question_id] = (opts, text if text is not None else old_text)
    out = []
    for b in ballots:
        mine = [(q, opts, text) for q, (opts, text) in answers.get(b.id or 0, {}).items()]
        voter = chain.voter_marker(b.voter_id, poll.anonymous, b.channel)
        payload = chain.canonical(
            poll.id, b.seq, b.household_id, voter, b.channel, mine, b.cast_at, b.recorded_by_id, b.form_sha256
        )
        out.append(chain.StoredBallot(seq=b.seq, prev_hash=b.prev_hash, hash=b.hash, payload=payload))
    return out


async def verify_chain(ctx: Ctx, poll_id: int) -> VerifyOut:
    """Author, committee, community admin and the community's verified owners (whose vote it is):
    recompute the chain and report the first broken link."""
    p = ctx.require_principal()
    poll = await load_poll(ctx, poll_id)
    owner = Relation.owner in p.households.get(poll.community_id, {}).values()
    if not (is_manager(p, poll) or owner):
        raise Forbidden("poll.verify_forbidden")
    verdict = chain.walk(await stored_chain(ctx.session, poll), poll.ballot_count, poll.last_hash)
    return VerifyOut(
        ok=verdict.ok,
        ballots=verdict.ballots,
        head_hash=verdict.head_hash,
        broken_seq=verdict.broken_seq,
        problem=verdict.problem,
    )
