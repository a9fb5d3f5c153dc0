"""Request and response bodies of the polls area."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator
from typing_extensions import TypeAliasType

from services.attachments.schemas import AttachmentOut
from services.i18n import Labelled
from services.models.polls import BallotChannel, PollKind, QuestionType
from services.schemas import Instant, RequestBody, ResponseBody, Text

MAX_ID = 2**53 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Named in the OpenAPI, one type on requests and responses (as in services/tickets/schemas.py).
Kind = PollKind
QType = QuestionType
PollStatus = TypeAliasType("PollStatus", Literal["scheduled", "open", "closed", "cancelled"])
Status = PollStatus
Rule = Literal["ordinary", "major", "double_majority_all", "custom"]
OptionText = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def parse_ratio(value: object) -> str:
    """ "2/3", 0.5 or "0.6" → an exact fraction "n/d" with 1/2 ≤ ratio < 1 (passing means strictly more)."""
    if isinstance(value, bool):
        raise ValueError("a ratio is a number or a fraction like 2/3")
    try:
        if isinstance(value, str) and "/" in value:
            num, den = value.split("/", 1)
            ratio = Fraction(int(num.strip()), int(den.strip()))
        elif isinstance(value, int | float | str | Decimal):
            ratio = Fraction(Decimal(str(value)))
        else:
            raise ValueError("not a number")
    except (ValueError, ZeroDivisionError, InvalidOperation) as exc:
        raise ValueError("a ratio is a number or a fraction like 2/3") from exc
    if not Fraction(1, 2) <= ratio < 1 or ratio.denominator > 10_000:
        raise ValueError("a ratio must be at least 1/2 and below 1 (denominator at most 10000)")
    return f"{ratio.numerator}/{ratio.denominator}"


Ratio = Annotated[str, BeforeValidator(parse_ratio)]


class QuestionIn(RequestBody):
    text: Text = Field(min_length=1, max_length=500)
    type: QType
    required: bool = True
    options: list[OptionText] = Field(default_factory=list, max_length=50)
    max_choices: int | None = Field(default=None, ge=1, le=50)

    @model_validator(mode="after")
    def _check(self) -> QuestionIn:
        if self.type == "text":
            if self.options or self.max_choices is not None:
                raise ValueError("a text question has no options and no max_choices")
            return self
        if len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if len(set(self.options)) != len(self.options):
            raise ValueError("options of a question must differ")
        if self.type == "single" and self.max_choices not in (None, 1):
            raise ValueError("a single-choice question allows one choice")
        if self.max_choices is not None and self.max_choices > len(self.options):
            raise ValueError("max_choices exceeds the number of options")
        return self


class PollCreate(RequestBody):
    title: Text = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=4000)
    kind: Kind
    notice_id: Id | None = None
    questions: list[QuestionIn] = Field(min_length=1, max_length=50)
    opens_at: Instant | None = Field(default=None, description="Default: now")
    closes_at: Instant
    anonymous: bool = False
    eligibility: Literal["owners", "households"] | None = Field(
        default=None, description="Default: owners for votes, households for surveys"
    )
    decision_question: int | None = Field(
        default=None,
        ge=0,
        le=49,
        description="Index (0-based) in `questions` of the single-choice question the 双过半 test applies "
        "to; default 0 for votes, none for surveys",
    )
    decision_rule: Rule | None = Field(
        default=None,
        description="ordinary / major (Civil Code art. 278: quorum 2/3 of area and owners, then > 1/2 or "
        "≥ 3/4 of the participants; major for items 6-8, e.g. adding a lift), double_majority_all (> 1/2 of "
        "all owners and area, older local bylaws) or custom (> the ratios below of all). Default: custom "
        "when a ratio is given, else ordinary",
    )
    households_ratio: Ratio = Field(
        default="1/2", description='custom rule only: passes when > ratio of all owners, e.g. 0.5 or "2/3"'
    )
    area_ratio: Ratio = Field(
        default="1/2", description='custom rule only: passes when > ratio of all area, e.g. 0.5 or "2/3"'
    )
    results_visibility: Literal["after_close", "live"] = "after_close"

    @model_validator(mode="after")
    def _check(self) -> PollCreate:
        for value in (self.opens_at, self.closes_at):
            if value is not None and value.tzinfo is None:
                raise ValueError("times need a UTC offset")
        if self.eligibility is None:
            self.eligibility = "owners" if self.kind == "vote" else "households"
        if self.kind == "vote" and self.decision_question is None:
            self.decision_question = 0
        ratios_set = bool({"households_ratio", "area_ratio"} & self.model_fields_set)
        if self.decision_rule is None:
            self.decision_rule = "custom" if ratios_set else "ordinary"
        elif self.decision_rule != "custom" and ratios_set:
            raise ValueError("households_ratio and area_ratio apply to the custom rule only")
        if self.decision_question is not None:
            if self.decision_question >= len(self.questions):
                raise ValueError("decision_question is not an index of questions")
            if self.questions[self.decision_question].type != "single":
                raise ValueError("the decision question must be single-choice")
        return self


class AnswerIn(RequestBody):
    question_id: Id
    option_ids: list[Id] | None = Field(default=None, max_length=50)
    text: Text | None = Field(default=None, max_length=2000)
    signed: bool = Field(
        default=False,
        description="A free-text answer on a named poll: show your name to other residents "
        "(unsigned they see '1号楼 住户')",
    )


class BallotIn(RequestBody):
    household_id: Id
    answers: list[AnswerIn] = Field(max_length=50)


class CloseIn(RequestBody):
    cancel: bool = Field(default=False, description="Before closes_at a poll can only be cancelled")


class OptionOut(ResponseBody):
    id: int
    text: str


class QuestionOut(ResponseBody):
    id: int
    position: int
    text: str
    type: QType
    required: bool
    max_choices: int | None
    options: list[OptionOut]


class PollListItem(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {
        "kind": "poll.kind",
        "status": "poll.status",
        "eligibility": "poll.eligibility",
        "results_visibility": "poll.results_visibility",
    }
    id: int
    community_id: int
    notice_id: int | None
    author_id: int
    title: str
    kind: Kind
    status: Status
    anonymous: bool
    eligibility: str
    results_visibility: str
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    ballot_count: int
    created_at: datetime
    kind_label: str | None = None
    status_label: str | None = None
    eligibility_label: str | None = None
    results_visibility_label: str | None = None


class PollOut(PollListItem):
    description: str
    decision_question_id: int | None
    decision_rule: Rule
    households_ratio: str
    area_ratio: str
    cancelled_at: datetime | None
    questions: list[QuestionOut]
    voted_household_ids: list[int] = Field(description="The caller's households that have voted")


class BallotOut(ResponseBody):
    id: int
    poll_id: int
    household_id: int
    seq: int
    prev_hash: str
    hash: str
    cast_at: datetime


class PaperBallotOut(BallotOut):
    channel: BallotChannel
    recorded_by_id: int
    form_sha256: str = Field(description="sha256 of the stored form photo, part of the ballot's chain link")
    form: AttachmentOut


class OptionTally(ResponseBody):
    option_id: int
    text: str
    households: int
    area_m2: Decimal


class TextAnswer(ResponseBody):
    text: str
    # Named polls: the voter for the committee, the poll's author and the voter, or when signed;
    # other residents see only voter_label ('1号楼 住户'). Anonymous polls: never anyone.
    voter_id: int | None = None
    voter_name: str | None = None
    voter_label: str | None = None
    voter_building: str | None = None
    signed: bool = False


class QuestionTally(ResponseBody):
    question_id: int
    text: str
    type: QType
    answered: int
    options: list[OptionTally]
    texts: list[TextAnswer]
    texts_truncated: bool = False


class Turnout(ResponseBody):
    households_voted: int
    households_total: int
    households_share: Decimal
    area_voted_m2: Decimal
    area_total_m2: Decimal
    area_share: Decimal = Decimal(0)
    paper_ballots: int = Field(default=0, description="Ballots recorded from signed paper forms")


class RuleTest(ResponseBody):
    """One test of the rule: numerator / denominator against threshold (at_least: ≥, more_than: >)."""

    test: Literal["participation_area", "participation_owners", "approval_area", "approval_owners"]
    numerator: Decimal
    denominator: Decimal
    threshold: str
    comparison: Literal["at_least", "more_than"]
    passed: bool
    text: str = ""


class DecisionOption(ResponseBody):
    option_id: int
    text: str
    households: int
    area_m2: Decimal
    passes_households: bool
    passes_area: bool
    passes: bool
    tests: list[RuleTest] = Field(default_factory=list)


class Decision(ResponseBody):
    question_id: int
    rule: Rule = "custom"
    rule_text: str = ""
    participation: list[RuleTest] = Field(
        default_factory=list, description="The quorum tests (ordinary, major); empty for rules without one"
    )
    participation_met: bool = True
    approval_basis: Literal["participants", "all"] = "all"
    outcome: Literal["passed", "no_quorum", "not_approved"] = "not_approved"
    reason: str = ""
    households_ratio: str
    area_ratio: str
    households_total: int
    area_total_m2: Decimal
    # The approval thresholds: ratio × the basis (participants or all), compared as in `tests`.
    households_threshold: Decimal
    area_threshold_m2: Decimal
    options: list[DecisionOption]
    passed_option_id: int | None


class ResultsOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"status": "poll.status"}

    poll_id: int
    status: Status
    status_label: str | None = None
    final: bool = Field(description="True for the frozen snapshot written when the poll closed")
    computed_at: datetime
    turnout: Turnout
    questions: list[QuestionTally]
    decision: Decision | None


class VerifyOut(ResponseBody):
    ok: bool
    ballots: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None
