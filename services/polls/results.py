"""Results: counts per option (households and exclusive area), turnout and the poll's decision rule.

Aggregated in SQL with a fixed number of statements however many ballots there are. The rules
(services.polls.rules): Civil Code art. 278 `ordinary` / `major` test participation against every
household and all exclusive area (≥ 2/3 of both), then approval against the participants; the older
`double_majority_all` and a `custom` rule test approval against every household and all area. Each
test is reported with its numerator, denominator and threshold, computed with exact fractions and
Decimal arithmetic. A household is one exclusive part and one owner (see rules.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.errors import Forbidden
from services.i18n import Locale
from services.models import Building, Household, User, utcnow
from services.models.polls import (
    Ballot,
    BallotAnswer,
    BallotChannel,
    Poll,
    PollOption,
    PollQuestion,
    QuestionType,
)
from services.polls import rules
from services.polls.common import is_manager, load_poll, load_questions, status_of
from services.polls.schemas import (
    Decision,
    DecisionOption,
    OptionTally,
    QuestionTally,
    ResultsOut,
    RuleTest,
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
        return localise(
            _masked(ctx, poll, ResultsOut.model_validate(upgrade_snapshot(poll.result, poll))), ctx.locale
        )
    now = utcnow()
    if (
        poll.results_visibility == "after_close"
        and status_of(poll, now) not in ("closed", "cancelled")
        and not is_manager(p, poll)
    ):
        raise Forbidden("poll.results_hidden")
    return localise(_masked(ctx, poll, await tally(ctx.session, poll, now, final=False)), ctx.locale)


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
    voted, area_voted, paper = (
        await session.exec(
            select(
                func.count(col(Ballot.id)),
                sa.type_coerce(func.sum(Household.area_m2), AREA),
                func.count(col(Ballot.id)).filter(col(Ballot.channel) == BallotChannel.paper),
            )
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
        decision = decide(
            poll,
            question,
            options.get(question.id or 0, []),
            per_option,
            hh_total,
            area_total,
            int(voted),
            _area(area_voted),
        )
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
            area_share=(_area(area_voted) / area_total).quantize(SHARE) if area_total else Decimal(0),
            paper_ballots=int(paper or 0),
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
    return rules.check(count, total, ratio, "more_than")


def _test(
    name: str, num: Decimal | int, den: Decimal | int, ratio: Fraction, cmp: rules.Comparison
) -> RuleTest:
    return RuleTest(
        test=name,  # type: ignore[arg-type]
        numerator=Decimal(num),
        denominator=Decimal(den),
        threshold=rules.fraction_text(ratio),
        comparison=cmp,
        passed=rules.check(num, den, ratio, cmp),
    )


def decide(
    poll: Poll,
    question: PollQuestion,
    options: list[PollOption],
    per_option: dict[int, tuple[int, Decimal]],
    hh_total: int,
    area_total: Decimal,
    voted: int = 0,
    area_voted: Decimal = Decimal(0),
) -> Decision:
    """Apply the poll's rule (services.polls.rules) to the decision question's options."""
    spec = rules.spec_for(poll.decision_rule, poll.households_ratio, poll.area_ratio)
    quorum: list[RuleTest] = []
    if spec.quorum is not None:
        quorum = [
            _test("participation_area", area_voted, area_total, spec.quorum, "at_least"),
            _test("participation_owners", voted, hh_total, spec.quorum, "at_least"),
        ]
    quorum_met = all(t.passed for t in quorum)
    base_h, base_a = (voted, area_voted) if spec.over_participants else (hh_total, area_total)
    hr, ar = spec.households_ratio, spec.area_ratio
    rows = []
    for o in options:
        n, area = per_option.get(o.id or 0, (0, Decimal("0.00")))
        tests = [
            _test("approval_area", area, base_a, ar, spec.comparison),
            _test("approval_owners", n, base_h, hr, spec.comparison),
        ]
        ok_a, ok_h = tests[0].passed, tests[1].passed
        rows.append(
            DecisionOption(
                option_id=o.id or 0,
                text=o.text,
                households=n,
                area_m2=area,
                passes_households=ok_h,
                passes_area=ok_a,
                passes=quorum_met and ok_h and ok_a,
                tests=tests,
            )
        )
    passed = next((r.option_id for r in rows if r.passes), None)
    outcome = "passed" if passed is not None else ("not_approved" if quorum_met else "no_quorum")
    return Decision(
        question_id=question.id or 0,
        rule=poll.decision_rule,  # type: ignore[arg-type]
        participation=quorum,
        participation_met=quorum_met,
        approval_basis="participants" if spec.over_participants else "all",
        outcome=outcome,  # type: ignore[arg-type]
        households_ratio=rules.fraction_text(hr),
        area_ratio=rules.fraction_text(ar),
        households_total=hh_total,
        area_total_m2=area_total,
        households_threshold=(Decimal(base_h) * hr.numerator / hr.denominator).quantize(SHARE),
        area_threshold_m2=(Decimal(base_a) * ar.numerator / ar.denominator).quantize(SHARE),
        options=rows,
        passed_option_id=passed,
    )


def localise(result: ResultsOut, locale: Locale) -> ResultsOut:
    """Fill the rule's and the tests' sentences in the caller's language (snapshots store numbers)."""
    d = result.decision
    if d is None:
        return result
    d.rule_text = rules.rule_text(d.rule, d.households_ratio, d.area_ratio, locale)

    for t in [*d.participation, *(t for o in d.options for t in o.tests)]:
        t.text = rules.test_text(
            t.test, t.numerator, t.denominator, t.threshold, t.comparison, t.passed, locale
        )
    winner = next((o for o in d.options if o.option_id == d.passed_option_id), None)
    failed: list[str] = []
    if d.outcome == "no_quorum":
        failed = [t.text for t in d.participation if not t.passed]
    elif winner is None and d.options:
        # The first option (同意 by convention) shows why it fell short.
        first = d.options[0]
        label = f'"{first.text}": ' if locale == "en" else f"「{first.text}」"
        failed = [label + t.text for t in first.tests if not t.passed]
    d.reason = rules.outcome_text(d.outcome, winner.text if winner else None, failed, locale)
    return result


def upgrade_snapshot(snapshot: dict[str, Any], poll: Poll) -> dict[str, Any]:
    """Snapshots frozen before decision rules: the rule they applied, and their outcome."""
    decision = snapshot.get("decision")
    if isinstance(decision, dict) and "rule" not in decision:
        decision = {**decision, "rule": poll.decision_rule}
        decision["outcome"] = "passed" if decision.get("passed_option_id") is not None else "not_approved"
        snapshot = {**snapshot, "decision": decision}
    return snapshot
