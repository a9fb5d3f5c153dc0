"""Notices (announcements, publicity 公示, emergencies), per-recipient receipts and comments/objections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, fk_field, id_field


class NoticeKind(StrEnum):
    announcement = "announcement"
    publicity = "publicity"  # 公示: has a comment window and records an outcome
    emergency = "emergency"  # notified through the critical "emergency" category


class AudienceType(StrEnum):
    community = "community"  # everyone verified in the community (pending claimants may read)
    buildings = "buildings"  # verified residents of the chosen buildings
    roles = "roles"  # verified members holding one of the chosen roles


class NoticeStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    expired = "expired"
    withdrawn = "withdrawn"


class NoticeOutcome(StrEnum):
    no_objections = "no_objections"
    objections_answered = "objections_answered"
    objections_pending = "objections_pending"


class Notice(SQLModel, table=True):
    __tablename__ = "notice"
    __table_args__ = (
        # The feed: one community's published notices, pinned first, newest first (keyset).
        sa.Index("ix_notice_feed", "community_id", "status", "pinned", "published_at", "id"),
        # Scheduler jobs: due scheduled notices, windows to close, notices to expire.
        sa.Index("ix_notice_status_publish_at", "status", "publish_at"),
        sa.Index("ix_notice_status_expires_at", "status", "expires_at"),
        sa.Index("ix_notice_status_comment_closes_at", "status", "comment_closes_at"),
        # One revision per round: round 2 links to round 1, never two round 2s.
        sa.UniqueConstraint("previous_id"),
    )
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    author_id: int = fk_field("user_account.id")
    author_role: str = Field(max_length=30)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=200)
    body_md: str = Field(sa_type=sa.Text)
    audience_type: str = Field(default=AudienceType.community, max_length=20)
    audience_building_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    audience_roles: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    status: str = Field(default=NoticeStatus.draft, max_length=20)
    publish_at: datetime | None = at_field()
    published_at: datetime | None = at_field()
    expires_at: datetime | None = at_field()
    pinned: bool = False
    requires_ack: bool = False
    # "Post on the noticeboard and SMS the households without the app" (issue 21).
    offline_reach: bool = False
    comment_window_days: int | None = None
    comment_closes_at: datetime | None = at_field()
    outcome: str | None = Field(default=None, max_length=30)
    outcome_detail: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    outcome_at: datetime | None = at_field()
    round: int = 1
    previous_id: int | None = fk_field("notice.id", nullable=True, index=False)
    change_summary: str | None = Field(default=None, max_length=2000)
    withdrawn_reason: str | None = Field(default=None, max_length=500)
    withdrawn_at: datetime | None = at_field()
    reminders_sent: int = 0
    last_reminded_at: datetime | None = at_field()
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class NoticeReceipt(SQLModel, table=True):
    """One row per audience member, written at publish time with one INSERT … SELECT (channel app);
    plus one row per household reached without the app: by SMS (written at publish) or on paper
    (recorded by staff or a grid worker), with no user."""

    __tablename__ = "notice_receipt"
    __table_args__ = (
        sa.UniqueConstraint("notice_id", "user_id"),
        sa.Index("ix_notice_receipt_notice_id_building_id", "notice_id", "building_id"),
        # The feed's LEFT JOIN looks up the caller's receipt per notice.
        sa.Index("ix_notice_receipt_user_id_notice_id", "user_id", "notice_id"),
        # One SMS and one paper receipt per household at most.
        sa.Index(
            "uq_notice_receipt_household_channel",
            "notice_id",
            "household_id",
            "channel",
            unique=True,
            sqlite_where=sa.text("channel <> 'app'"),
            postgresql_where=sa.text("channel <> 'app'"),
        ),
    )
    id: int | None = id_field()
    notice_id: int = fk_field("notice.id", index=False)
    user_id: int | None = fk_field("user_account.id", nullable=True, index=False)
    channel: str = Field(default="app", max_length=10)
    recorded_by_id: int | None = Field(default=None, sa_type=BigIntId)
    # Where the recipient lived at publish time, for the per-building view. Plain columns, no foreign
    # keys: the two FK checks per row cost ~40 % of the 10,000-row INSERT … SELECT (docs/benchmarks.md).
    household_id: int | None = Field(default=None, sa_type=BigIntId)
    building_id: int | None = Field(default=None, sa_type=BigIntId)
    delivered_at: datetime | None = at_field()
    read_at: datetime | None = at_field()
    acked_at: datetime | None = at_field()


class NoticeComment(SQLModel, table=True):
    __tablename__ = "notice_comment"
    __table_args__ = (sa.Index("ix_notice_comment_notice_id_id", "notice_id", "id"),)
    id: int | None = id_field()
    notice_id: int = fk_field("notice.id", index=False)
    user_id: int = fk_field("user_account.id")
    household_id: int | None = fk_field("household.id", nullable=True)
    body: str = Field(max_length=2000)
    is_objection: bool = False
    # Signed by name: other residents see the author's name; unsigned they see "1号楼 住户".
    signed: bool = False
    answer_body: str | None = Field(default=None, max_length=2000)
    answered_by: int | None = fk_field("user_account.id", nullable=True)
    answered_at: datetime | None = at_field()
    created_at: datetime = created_at_field()
