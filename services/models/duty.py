"""Red property (红色物业): the party organisation, duty posts and shifts, check-ins, the service-hours
ledger and volunteer activities (文明实践活动)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, fk_field, id_field


class PostCategory(StrEnum):
    publicity = "publicity"  # 文化宣传
    sanitation_supervision = "sanitation_supervision"  # 卫生监督
    security_watch = "security_watch"  # 安全值守
    dispute_mediation = "dispute_mediation"  # 纠纷调解
    emergency_rescue = "emergency_rescue"  # 应急抢险
    custom = "custom"


class AssignmentRole(StrEnum):
    lead = "lead"
    member = "member"


class ShiftStatus(StrEnum):
    scheduled = "scheduled"
    done = "done"
    missed = "missed"


class SwapStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class SignupStatus(StrEnum):
    confirmed = "confirmed"
    waiting = "waiting"
    cancelled = "cancelled"
    attended = "attended"


class LedgerSource(StrEnum):
    shift = "shift"
    activity = "activity"


class PartyOrganisation(SQLModel, table=True):
    """The community's party branch (党支部); its members are memberships with a party role."""

    __tablename__ = "party_organisation"
    id: int | None = id_field()
    community_id: int = Field(sa_type=BigIntId, foreign_key="community.id", unique=True)
    name: str = Field(max_length=100)
    secretary_id: int | None = fk_field("user_account.id", nullable=True)
    created_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()


class DutyPost(SQLModel, table=True):
    __tablename__ = "duty_post"
    id: int | None = id_field()
    community_id: int = fk_field("community.id")
    category: str = Field(max_length=30)
    custom_category: str | None = Field(default=None, max_length=50)
    description: str = Field(default="", max_length=1000)
    # Buildings covered; an empty list covers the whole community.
    building_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    headcount: int = 1
    created_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = at_field()


class DutyAssignment(SQLModel, table=True):
    __tablename__ = "duty_assignment"
    id: int | None = id_field()
    post_id: int = fk_field("duty_post.id")
    user_id: int = fk_field("user_account.id")
    role: str = Field(default=AssignmentRole.member, max_length=10)
    starts_on: date
    ends_on: date | None = None
    created_at: datetime = created_at_field()


class DutyContactPref(SQLModel, table=True):
    """What a party member agrees to show residents on the roster."""

    __tablename__ = "duty_contact_pref"
    id: int | None = id_field()
    user_id: int = Field(sa_type=BigIntId, foreign_key="user_account.id", unique=True)
    share_phone: bool = False
    allow_message: bool = True
    # The member's extension behind the call relay number (data only; no telephony here).
    extension: str = Field(max_length=10)
    updated_at: datetime = created_at_field()


class DutyShift(SQLModel, table=True):
    __tablename__ = "duty_shift"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "starts_at"),
        sa.Index("ix_duty_shift_status_starts_at", "status", "starts_at"),
    )
    id: int | None = id_field()
    post_id: int = fk_field("duty_post.id", index=False)
    community_id: int = fk_field("community.id")
    starts_at: datetime = at_field(nullable=False)
    ends_at: datetime = at_field(nullable=False)
    status: str = Field(default=ShiftStatus.scheduled, max_length=10)
    recurrence_id: str | None = Field(default=None, max_length=32, index=True)
    missed_at: datetime | None = at_field()
    created_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()


class DutyShiftAssignee(SQLModel, table=True):
    __tablename__ = "duty_shift_assignee"
    __table_args__ = (sa.UniqueConstraint("shift_id", "user_id"),)
    id: int | None = id_field()
    shift_id: int = fk_field("duty_shift.id", index=False)
    user_id: int = fk_field("user_account.id")


class DutyCheckin(SQLModel, table=True):
    __tablename__ = "duty_checkin"
    __table_args__ = (sa.UniqueConstraint("shift_id", "user_id"),)
    id: int | None = id_field()
    shift_id: int = fk_field("duty_shift.id", index=False)
    user_id: int = fk_field("user_account.id")
    checkin_at: datetime = at_field(nullable=False)
    checkout_at: datetime | None = at_field()
    # True when the close job checked the member out at the shift's end.
    auto_checkout: bool = False
    lat: float | None = None
    lng: float | None = None
    distance_m: int | None = None
    note: str | None = Field(default=None, max_length=1000)
    checkout_note: str | None = Field(default=None, max_length=1000)


class DutySwapRequest(SQLModel, table=True):
    __tablename__ = "duty_swap_request"
    id: int | None = id_field()
    shift_id: int = fk_field("duty_shift.id")
    from_user_id: int = fk_field("user_account.id")
    to_user_id: int = fk_field("user_account.id")
    reason: str | None = Field(default=None, max_length=500)
    status: str = Field(default=SwapStatus.pending, max_length=10)
    decided_by: int | None = fk_field("user_account.id", nullable=True)
    decided_at: datetime | None = at_field()
    created_at: datetime = created_at_field()


class DutyLog(SQLModel, table=True):
    __tablename__ = "duty_log"
    id: int | None = id_field()
    post_id: int = fk_field("duty_post.id")
    user_id: int = fk_field("user_account.id")
    body: str = Field(max_length=2000)
    # The repair ticket this entry opened or refers to (no FK: the tickets tables live in their own
    # migration branch; the service checks the ticket exists in the same community).
    ticket_id: int | None = Field(default=None, sa_type=BigIntId, index=True)
    created_at: datetime = created_at_field()


class ServiceLog(SQLModel, table=True):
    """The service-hours ledger: one row per member per shift or activity attended."""

    __tablename__ = "service_log"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_id", "user_id"),
        sa.Index("ix_service_log_user_id_at", "user_id", "at"),
    )
    id: int | None = id_field()
    user_id: int = fk_field("user_account.id", index=False)
    community_id: int = fk_field("community.id")
    source: str = Field(max_length=10)
    source_id: int = Field(sa_type=BigIntId)
    hours: Decimal = Field(sa_type=sa.Numeric(6, 2))
    at: datetime = at_field(nullable=False)
    created_at: datetime = created_at_field()


class Activity(SQLModel, table=True):
    __tablename__ = "activity"
    id: int | None = id_field()
    community_id: int = fk_field("community.id")
    title: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    place: str = Field(max_length=200)
    starts_at: datetime = at_field(nullable=False)
    ends_at: datetime = at_field(nullable=False)
    capacity: int
    # Volunteer hours credited per attendee.
    hours: Decimal = Field(sa_type=sa.Numeric(6, 2))
    created_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()


class ActivitySignup(SQLModel, table=True):
    __tablename__ = "activity_signup"
    __table_args__ = (sa.UniqueConstraint("activity_id", "user_id"),)
    id: int | None = id_field()
    activity_id: int = fk_field("activity.id", index=False)
    user_id: int = fk_field("user_account.id")
    status: str = Field(max_length=10)
    # Waiting-list order: the moment of the (latest) sign-up.
    signed_up_at: datetime = at_field(nullable=False)
    updated_at: datetime = created_at_field()
