"""Results: counts per option (households and exclusive area), turnout and the 双过半 test.

Aggregated in SQL with a fixed number of statements however many ballots there are. The denominator
of the double-majority test is every household of the community and their total exclusive area, not
just the voters: an option passes when its households > households_ratio × all households AND its
area > area_ratio × all area (strictly more; exact fractions and Decimal arithmetic).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.errors import Forbidden
from services.models import Building, Household, User, utcnow
from services.models.polls import Ballot, BallotAnswer, Poll, PollOption, PollQuestion, QuestionType
from services.polls.common import is_manager, load_poll, load_questions, status_of
from services.polls.schemas import (
    Decision,
    DecisionOption,
    OptionTally,
    QuestionTally,
    ResultsOut,
    TextAnswer,
    Turnout,
)
from services.privacy import resident_label
from services.runtime import Ctx

CENT = Decimal("0.01")
SHARE = Decimal("0.0001")
# Free-text answers listed in a result (newest ballots last); the rest are counted only.
MAX_TEXTS = 1000
AREA = sa.Numeric(14, 2)


async def get_results(ctx: Ctx, poll_id: int) -> ResultsOut:
    p = ctx.require_principal()
    poll = await load_poll(ctx, poll_id)
    if poll.result is not None:
        return _masked(ctx, poll, ResultsOut.model_validate(poll.result))
    now = utcnow()
    if (
        poll.results_visibility == "after_close"
        and status_of(poll, now) not in ("closed", "cancelled")
        and not is_manager(p, poll)
    ):
        raise Forbidden("poll.results_hidden")
    return _masked(ctx, poll, await tally(ctx.session, poll, now, final=False))


def _masked(ctx: Ctx, poll: Poll, result: ResultsOut) -> ResultsOut:
    """Neighbours' privacy on read (the frozen snapshot keeps the names for the committee): an
    unsigned free-text answer shows other residents only the voter's building."""
    p = ctx.require_principal()
    if poll.anonymous:
        return result
    sees_all = is_manager(p, poll)
    for question in result.questions:
        for t in question.texts:
            t.voter_label = resident_label(t.voter_building, ctx.locale)
            if not (sees_all or t.signed or (t.voter_id is not None and t.voter_id == p.user_id)):
                t.voter_id = t.voter_name = None
    return result


def _area(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


async def tally(session: AsyncSession, poll: Poll, now: datetime, *, final: bool) -> ResultsOut:
    assert poll.id is not None
    questions, options = await load_questions(session, poll.id)
    hh_total, area_total = (
        await session.exec(
            select(func.count(col(Household.id)), sa.type_coerce(func.sum(Household.area_m2), AREA)).where(
                Household.community_id == poll.community_id
            )
        )
    ).one()
    voted, area_voted = (
        await session.exec(
            select(func.count(col(Ballot.id)), sa.type_coerce(func.sum(Household.area_m2), AREA))
            .join(Household, col(Household.id) == Ballot.household_id)
            .where(Ballot.poll_id == poll.id)
        )
    ).one()
    per_option: dict[int, tuple[int, Decimal]] = {}
    for option_id, n, area in (
        await session.exec(
            select(
                BallotAnswer.option_id,
                func.count(),
                sa.type_coerce(func.sum(Household.area_m2), AREA),
            )
            .join(Ballot, col(Ballot.id) == BallotAnswer.ballot_id)
            .join(Household, col(Household.id) == Ballot.household_id)
            .where(Ballot.poll_id == poll.id, col(BallotAnswer.option_id).is_not(None))
            .group_by(col(BallotAnswer.option_id))
        )
    ).all():
        per_option[int(option_id or 0)] = (int(n), _area(area))
    answered = dict(
        (
            await session.exec(
                select(BallotAnswer.question_id, func.count(func.distinct(BallotAnswer.ballot_id)))
                .join(Ballot, col(Ballot.id) == BallotAnswer.ballot_id)
                .where(Ballot.poll_id == poll.id)
                .group_by(col(BallotAnswer.question_id))
            )
        ).all()
    )
    texts, truncated = await _texts(session, poll)
    hh_total, area_total = int(hh_total), _area(area_total)
    tallies = [
        QuestionTally(
            question_id=q.id or 0,
            text=q.text,
            type=q.type,  # type: ignore[arg-type]
            answered=int(answered.get(q.id or 0, 0)),
            options=[_option(o, per_option) for o in options.get(q.id or 0, [])],
            texts=texts.get(q.id or 0, []),
            texts_truncated=truncated and q.type == QuestionType.text,
        )
        for q in questions
    ]
    decision = None
    question = next((q for q in questions if q.id == poll.decision_question_id), None)
    if question is not None:
        decision = decide(poll, question, options.get(question.id or 0, []), per_option, hh_total, area_total)
    return ResultsOut(
        poll_id=poll.id,
        status=status_of(poll, now),
        final=final,
        computed_at=now,
        turnout=Turnout(
            households_voted=int(voted),
            households_total=hh_total,
            households_share=_share(int(voted), hh_total),
            area_voted_m2=_area(area_voted),
            area_total_m2=area_total,
        ),
        questions=tallies,
        decision=decision,
    )


def _option(o: PollOption, per_option: dict[int, tuple[int, Decimal]]) -> OptionTally:
    n, area = per_option.get(o.id or 0, (0, Decimal("0.00")))
    return OptionTally(option_id=o.id or 0, text=o.text, households=n, area_m2=area)


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(SHARE) if whole else Decimal(0)


async def _texts(session: AsyncSession, poll: Poll) -> tuple[dict[int, list[TextAnswer]], bool]:
    """Free-text answers in casting order; named polls show the voter, anonymous ones never do."""
    query = (
        sa.select(
            col(BallotAnswer.question_id),
            col(BallotAnswer.text),
            col(Ballot.voter_id),
            col(User.name),
            col(BallotAnswer.signed),
            col(Building.name),
        )
        .join(Ballot, col(Ballot.id) == BallotAnswer.ballot_id)
        .outerjoin(User, col(User.id) == Ballot.voter_id)
        .join(Household, col(Household.id) == Ballot.household_id)
        .join(Building, col(Building.id) == Household.building_id)
        .where(col(Ballot.poll_id) == poll.id, col(BallotAnswer.text).is_not(None))
        .order_by(col(Ballot.seq))
        .limit(MAX_TEXTS + 1)
    )
    rows = (await session.execute(query)).all()
    out: dict[int, list[TextAnswer]] = {}
    for question_id, text, voter_id, name, signed, building in rows[:MAX_TEXTS]:
        answer = (
            TextAnswer(text=text or "")
            if poll.anonymous
            else TextAnswer(
                text=text or "", voter_id=voter_id, voter_name=name, voter_building=building, signed=signed
            )
        )
        out.setdefault(question_id, []).append(answer)
    return out, len(rows) > MAX_TEXTS


def passes(count: Decimal | int, total: Decimal | int, ratio: Fraction) -> bool:
    """Strictly more than ratio × total, exactly: count × d > n × total."""
    return Decimal(count) * ratio.denominator > Decimal(total) * ratio.numerator


def decide(
    poll: Poll,
    question: PollQuestion,
    options: list[PollOption],
    per_option: dict[int, tuple[int, Decimal]],
    hh_total: int,
    area_total: Decimal,
) -> Decision:
    hr, ar = Fraction(poll.households_ratio), Fraction(poll.area_ratio)
    rows = []
    for o in options:
        n, area = per_option.get(o.id or 0, (0, Decimal("0.00")))
        ok_h, ok_a = passes(n, hh_total, hr), passes(area, area_total, ar)
        rows.append(
            DecisionOption(
                option_id=o.id or 0,
                text=o.text,
                households=n,
                area_m2=area,
                passes_households=ok_h,
                passes_area=ok_a,
                passes=ok_h and ok_a,
            )
        )
    passed = next((r.option_id for r in rows if r.passes), None)
    return Decision(
        question_id=question.id or 0,
        households_ratio=poll.households_ratio,
        area_ratio=poll.area_ratio,
        households_total=hh_total,
        area_total_m2=area_total,
        households_threshold=(Decimal(hh_total) * hr.numerator / hr.denominator).quantize(SHARE),
        area_threshold_m2=(area_total * ar.numerator / ar.denominator).quantize(SHARE),
        options=rows,
        passed_option_id=passed,
    )
