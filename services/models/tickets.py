"""Tickets (repairs and complaints), their event log, ratings, return visits and inspections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class TicketStatus(StrEnum):
    submitted = "submitted"  # 待受理: the response clock runs
    accepted = "accepted"  # 已受理: waiting for a technician
    assigned = "assigned"  # 已派单
    in_progress = "in_progress"  # 处理中
    paused = "paused"  # 挂起: the resolution clock stops
    resolved = "resolved"  # 已完成, waiting for the reporter to confirm
    closed = "closed"
    cancelled = "cancelled"
    rejected = "rejected"


OPEN_STATUSES = (
    TicketStatus.submitted,
    TicketStatus.accepted,
    TicketStatus.assigned,
    TicketStatus.in_progress,
    TicketStatus.paused,
)


class TicketKind(StrEnum):
    repair = "repair"
    complaint = "complaint"


class IntakeChannel(StrEnum):
    app = "app"
    phone = "phone"
    walk_in = "walk_in"
    hotline = "hotline"  # 12345 and the community's own hotline, passed on to the desk
    inspection = "inspection"
    alert = "alert"
    alarm = "alarm"  # turned from a camera or sensor alarm (services/alarms)


class SlaFlag:
    """Bits of Ticket.sla_state: which SLA notices went out (the sweep selects on the missing bit)."""

    response_warned = 1
    response_breached = 2
    resolution_warned = 4
    resolution_breached = 8
    escalated = 16


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        sa.Index("ix_ticket_community_status_id", "community_id", "status", "id"),
        sa.Index("ix_ticket_assignee_status_id", "assignee_id", "status", "id"),
        sa.Index("ix_ticket_assignee_id_id", "assignee_id", "id"),
        sa.Index("ix_ticket_household_id_id", "household_id", "id"),
        sa.Index("ix_ticket_reporter_id_id", "reporter_id", "id"),
        sa.Index("ix_ticket_status_response_warn_at", "status", "response_warn_at"),
        sa.Index("ix_ticket_status_resolution_warn_at", "status", "resolution_warn_at"),
        sa.Index("ix_ticket_status_resolved_at", "status", "resolved_at"),
    )
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    building_id: int | None = fk_field("building.id", nullable=True)
    household_id: int | None = fk_field("household.id", nullable=True, index=False)
    kind: str = Field(max_length=10)
    category: str = Field(max_length=30)
    priority: str = Field(default="normal", max_length=10)
    status: str = Field(default=TicketStatus.submitted, max_length=20)
    title: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    complaint_target: str | None = Field(default=None, max_length=20)
    # A complaint about one staff member (technician): only the manager and the committee read it.
    about_staff_id: int | None = fk_field("user_account.id", nullable=True)
    intake_channel: str = Field(default=IntakeChannel.app, max_length=12)
    # The resident the ticket is for (confirms, rates, reopens); the inspector for inspection tickets.
    # None when it is an occupant without an app account (occupant_id): staff act for them.
    reporter_id: int | None = fk_field("user_account.id", nullable=True, index=False)
    # The occupant the ticket was filed for by phone or at the desk (told by SMS).
    occupant_id: int | None = fk_field("occupant.id", nullable=True)
    # A public area (stairwell, lift, gate): no household; the building when known.
    place: str | None = Field(default=None, max_length=100)
    # Who pressed the button: the reporter, or staff filing on the reporter's behalf.
    created_by_id: int = fk_field("user_account.id")
    assignee_id: int | None = fk_field("user_account.id", nullable=True, index=False)
    appointment_start: datetime | None = at_field()
    appointment_end: datetime | None = at_field()
    version: int = 1
    # SLA: targets in working minutes (snapshot of the policy) and the due times computed from them.
    response_minutes: float = 0
    resolution_minutes: float = 0
    response_due_at: datetime | None = at_field()
    resolution_due_at: datetime | None = at_field()
    response_warn_at: datetime | None = at_field()
    resolution_warn_at: datetime | None = at_field()
    escalate_at: datetime | None = at_field()
    sla_state: int = 0
    paused_at: datetime | None = at_field()
    pause_reason: str | None = Field(default=None, max_length=30)
    paused_seconds: int = 0
    paused_working_minutes: float = 0
    # Working minutes of the resolution target already used when the current pause began.
    resolution_elapsed_minutes: float | None = None
    accepted_at: datetime | None = at_field()
    assigned_at: datetime | None = at_field()
    started_at: datetime | None = at_field()
    resolved_at: datetime | None = at_field()
    closed_at: datetime | None = at_field()
    last_urged_at: datetime | None = at_field()
    resolution_note: str | None = Field(default=None, max_length=2000)
    # Complaints: the manager's call and the committee's dispute of it.
    complaint_valid: bool | None = None
    validity_reason: str | None = Field(default=None, max_length=500)
    classified_by_id: int | None = fk_field("user_account.id", nullable=True)
    classified_at: datetime | None = at_field()
    disputed_by_id: int | None = fk_field("user_account.id", nullable=True)
    disputed_at: datetime | None = at_field()
    dispute_reason: str | None = Field(default=None, max_length=500)
    rating_overall: int | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class TicketEvent(SQLModel, table=True):
    """Every change of a ticket: who, when, from which status to which, and why."""

    __tablename__ = "ticket_event"
    __table_args__ = (sa.Index("ix_ticket_event_ticket_id_id", "ticket_id", "id"),)
    id: int | None = id_field()
    ticket_id: int = fk_field("ticket.id", index=False)
    community_id: int = fk_field("community.id")
    # None: the system (auto-close, SLA sweep).
    actor_id: int | None = fk_field("user_account.id", nullable=True)
    action: str = Field(max_length=20)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=500)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = created_at_field()


class TicketRating(SQLModel, table=True):
    __tablename__ = "ticket_rating"
    __table_args__ = (sa.UniqueConstraint("ticket_id"),)
    id: int | None = id_field()
    ticket_id: int = fk_field("ticket.id", index=False)
    community_id: int = fk_field("community.id")
    # None: an occupant without an account, rated through staff (recorded_by_id, channel).
    user_id: int | None = fk_field("user_account.id", nullable=True)
    channel: str = Field(default="app", max_length=12)
    recorded_by_id: int | None = fk_field("user_account.id", nullable=True)
    overall: int
    speed: int
    attitude: int
    comment: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class TicketFollowup(SQLModel, table=True):
    """A return visit (回访) the manager owes after a low rating."""

    __tablename__ = "ticket_followup"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "reason"),)
    id: int | None = id_field()
    ticket_id: int = fk_field("ticket.id", index=False)
    community_id: int = fk_field("community.id")
    reason: str = Field(default="low_rating", max_length=30)
    status: str = Field(default="open", max_length=10)
    note: str | None = Field(default=None, max_length=1000)
    done_by_id: int | None = fk_field("user_account.id", nullable=True)
    done_at: datetime | None = at_field()
    created_at: datetime = created_at_field()


class Inspection(SQLModel, table=True):
    """A greening or sanitation check of one area (巡查)."""

    __tablename__ = "inspection"
    __table_args__ = (sa.Index("ix_inspection_community_id_id", "community_id", "id"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    kind: str = Field(max_length=20)
    area: str = Field(max_length=100)
    building_id: int | None = fk_field("building.id", nullable=True)
    inspector_id: int = fk_field("user_account.id")
    note: str = Field(default="", max_length=1000)
    inspected_at: datetime = created_at_field()
    created_at: datetime = created_at_field()


class InspectionItem(SQLModel, table=True):
    """One checked item; the greening pass rate counts these rows."""

    __tablename__ = "inspection_item"
    __table_args__ = (sa.Index("ix_inspection_item_community_kind_at", "community_id", "kind", "created_at"),)
    id: int | None = id_field()
    inspection_id: int = fk_field("inspection.id")
    community_id: int = fk_field("community.id", index=False)
    kind: str = Field(max_length=20)
    name: str = Field(max_length=100)
    passed: bool
    note: str = Field(default="", max_length=500)
    ticket_id: int | None = fk_field("ticket.id", nullable=True)
    created_at: datetime = created_at_field()


class CallBinding(SQLModel, table=True):
    """A privacy-number (隐私号, AXB) binding the call relay made for one ticket: the technician (A)
    dials the relay number (X) and reaches the resident (B) without either seeing the other's
    number, until it expires. Kept as the record of who was put through to whom."""

    __tablename__ = "call_binding"
    __table_args__ = (sa.Index("ix_call_binding_ticket_caller", "ticket_id", "caller_id", "expires_at"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id")
    ticket_id: int = fk_field("ticket.id", index=False)
    caller_id: int = fk_field("user_account.id")
    callee_id: int | None = fk_field("user_account.id", nullable=True)  # None: an occupant
    relay_number: str = Field(max_length=32)
    provider: str = Field(max_length=20)
    provider_ref: str | None = Field(default=None, max_length=100)
    expires_at: datetime = at_field(nullable=False)
    created_at: datetime = created_at_field()
