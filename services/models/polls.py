"""Surveys and votes (问卷 / 表决): polls, their questions and options, and immutable ballots.

A ballot is never updated or deleted. Each ballot row carries its place in a per-poll hash chain
(seq, prev_hash, hash); the poll row keeps the chain's head (ballot_count, last_hash) so removing the
newest ballot is detectable too (services.polls.chain).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, fk_field, id_field

GENESIS_HASH = "0" * 64


class PollKind(StrEnum):
    survey = "survey"
    vote = "vote"


class QuestionType(StrEnum):
    single = "single"
    multiple = "multiple"
    text = "text"


class Eligibility(StrEnum):
    owners = "owners"  # one ballot per household, cast by a verified owner
    households = "households"  # one ballot per household, cast by any verified resident of it


class ResultsVisibility(StrEnum):
    after_close = "after_close"
    live = "live"


class DecisionRule(StrEnum):
    """How the decision question is decided (services.polls.rules)."""

    ordinary = "ordinary"  # Civil Code art. 278 ordinary matter (items 1-5, 9): quorum 2/3, then > 1/2
    major = "major"  # art. 278 items 6-8 (raise the fund, rebuild/alter e.g. a lift, change use): ≥ 3/4
    double_majority_all = "double_majority_all"  # older local bylaws: > 1/2 of ALL owners and area
    custom = "custom"  # > households_ratio of all owners and > area_ratio of all area, stated openly


class BallotChannel(StrEnum):
    app = "app"
    paper = "paper"  # a signed paper form recorded by committee or staff, with its photo
    seed = "seed"  # demo data attributed to a household without a real voter


class Poll(SQLModel, table=True):
    __tablename__ = "poll"
    __table_args__ = (
        sa.Index("ix_poll_community_id_id", "community_id", "id"),
        sa.Index("ix_poll_closed_at_closes_at", "closed_at", "closes_at"),
        sa.Index("ix_poll_announced_at_opens_at", "announced_at", "opens_at"),
    )
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    # A poll may hang off a notice (services.notices); no foreign key so this area migrates alone.
    notice_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)
    author_id: int = fk_field("user_account.id")
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: str = Field(max_length=10)
    anonymous: bool = False
    eligibility: str = Field(max_length=12)
    results_visibility: str = Field(default=ResultsVisibility.after_close, max_length=12)
    # The 双过半 test: the question it applies to and exact ratios as "n/d" (passes when > ratio).
    decision_question_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)
    decision_rule: str = Field(default=DecisionRule.ordinary, max_length=24)
    households_ratio: str = Field(default="1/2", max_length=16)
    area_ratio: str = Field(default="1/2", max_length=16)
    opens_at: datetime = at_field(nullable=False)
    closes_at: datetime = at_field(nullable=False)
    # Set by the close job (or a cancel); with it the frozen result snapshot below.
    closed_at: datetime | None = at_field()
    cancelled_at: datetime | None = at_field()
    announced_at: datetime | None = at_field()
    result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    # Head of the ballot hash chain, advanced under the poll row lock.
    ballot_count: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)
    created_at: datetime = created_at_field()


class PollQuestion(SQLModel, table=True):
    __tablename__ = "poll_question"
    id: int | None = id_field()
    poll_id: int = fk_field("poll.id")
    position: int
    text: str = Field(max_length=500)
    type: str = Field(max_length=10)
    required: bool = True
    max_choices: int | None = None


class PollOption(SQLModel, table=True):
    __tablename__ = "poll_option"
    id: int | None = id_field()
    poll_id: int = fk_field("poll.id")
    question_id: int = fk_field("poll_question.id")
    position: int
    text: str = Field(max_length=200)


class Ballot(SQLModel, table=True):
    __tablename__ = "ballot"
    __table_args__ = (
        sa.UniqueConstraint("poll_id", "household_id"),
        sa.UniqueConstraint("poll_id", "seq"),
    )
    id: int | None = id_field()
    poll_id: int = fk_field("poll.id", index=False)
    household_id: int = fk_field("household.id")
    seq: int
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # The resident who cast it; NULL on anonymous polls (see BallotVoter) and on seeded ballots.
    voter_id: int | None = fk_field("user_account.id", nullable=True)
    channel: str = Field(default=BallotChannel.app, max_length=10)
    cast_at: datetime = at_field(nullable=False)
    # Paper ballots: who typed it in, and the sha256 of the signed form's photo (both in the chain).
    recorded_by_id: int | None = fk_field("user_account.id", nullable=True)
    form_sha256: str | None = Field(default=None, max_length=64)


class BallotAnswer(SQLModel, table=True):
    __tablename__ = "ballot_answer"
    __table_args__ = (sa.Index("ix_ballot_answer_question_id_option_id", "question_id", "option_id"),)
    id: int | None = id_field()
    ballot_id: int = fk_field("ballot.id")
    question_id: int = fk_field("poll_question.id", index=False)
    option_id: int | None = fk_field("poll_option.id", nullable=True)
    text: str | None = Field(default=None, max_length=2000)
    # A free-text answer signed by name (named polls): other residents see the name, else a label.
    signed: bool = False


class BallotVoter(SQLModel, table=True):
    """Who cast the ballot of a household on an anonymous poll, kept apart from the answers.

    Limitation: the ballot row still names its household (the area weighting and the one-ballot rule
    need it), so someone with database access can link a household to its answers. Anonymity here
    means the API never shows who voted what, and the ballot itself holds no user id.
    """

    __tablename__ = "ballot_voter"
    __table_args__ = (sa.UniqueConstraint("poll_id", "household_id"),)
    id: int | None = id_field()
    poll_id: int = fk_field("poll.id", index=False)
    household_id: int = fk_field("household.id")
    voter_id: int = fk_field("user_account.id")
