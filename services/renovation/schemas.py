"""Request and response models of the renovation area. Money is integer fen; a float is refused by the
service with renovation.invalid_amount (not silently rounded), hence `StrictInt | float` inputs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt

from services.models.renovation import FundKind, ProjectStatus, ThreeRole
from services.schemas import Line, RequestBody, Text
from services.tickets.schemas import RepairCategory

Fen = StrictInt | float  # checked by services.renovation.common.fen


class ProjectCreate(RequestBody):
    title: Line = Field(min_length=1, max_length=200)
    year: int = Field(ge=1990, le=2100)
    batch: Line = Field(default="", max_length=40)


class LinksIn(RequestBody):
    """Evidence of each phase, linked (never copied) from the polls and notices areas."""

    needs_poll_id: int | None = Field(default=None, ge=1)
    design_poll_id: int | None = Field(default=None, ge=1)
    design_notice_id: int | None = Field(default=None, ge=1)
    design_notice2_id: int | None = Field(default=None, ge=1)
    vote_poll_id: int | None = Field(default=None, ge=1)
    vote_required: bool | None = None
    satisfaction_poll_id: int | None = Field(default=None, ge=1)


class ItemCreate(RequestBody):
    item_class: Literal["basic", "improvement", "upgrade"]
    name: Line = Field(min_length=1, max_length=200)
    quantity: Line = Field(min_length=1, max_length=20, description="a decimal, e.g. '120.5'")
    unit: Line = Field(min_length=1, max_length=20)
    budget_fen: Fen
    contractor: Line = Field(default="", max_length=200)
    building_ids: list[int] = Field(default_factory=list, max_length=200)


class ItemOut(BaseModel):
    id: int
    item_class: str
    name: str
    quantity: str
    unit: str
    budget_fen: int
    spent_fen: int
    contractor: str
    building_ids: list[int]
    signoff: str | None  # the latest verdict: pass | rectify | fail


class PhaseEvidence(BaseModel):
    phase: str
    complete: bool
    missing: list[str]


class ProjectOut(BaseModel):
    id: int
    community_id: int
    title: str
    year: int
    batch: str
    status: ProjectStatus
    needs_poll_id: int | None
    design_poll_id: int | None
    design_notice_id: int | None
    design_notice2_id: int | None
    vote_required: bool
    vote_poll_id: int | None
    satisfaction_poll_id: int | None
    aftercare_starts_on: date | None
    items: list[ItemOut]
    evidence: list[PhaseEvidence]
    created_at: datetime


class AdvanceIn(RequestBody):
    to: Literal["design", "publicity", "approval", "construction", "acceptance", "aftercare", "closed"] = (
        Field(description="the next phase")
    )


class SourceCreate(RequestBody):
    kind: FundKind
    name: Line = Field(default="", max_length=200)
    committed_fen: Fen = 0
    received_fen: Fen = 0


class SourceUpdate(RequestBody):
    committed_fen: Fen | None = None
    received_fen: Fen | None = None


class SourceOut(BaseModel):
    id: int
    kind: FundKind
    name: str
    committed_fen: int
    received_fen: int
    spent_fen: int
    balance_fen: int


class PaymentCreate(RequestBody):
    item_id: int = Field(ge=1)
    source_id: int = Field(ge=1)
    amount_fen: Fen
    payee: Line = Field(min_length=1, max_length=200)
    approver_id: int = Field(ge=1)
    voucher_id: int = Field(ge=1, description="an attachment uploaded with purpose=voucher")
    paid_on: date
    memo: Text = Field(default="", max_length=500)


class PaymentOut(BaseModel):
    id: int
    seq: int
    item_id: int
    source_id: int
    amount_fen: int
    payee: str
    approver_id: int
    voucher_id: int
    paid_on: date
    memo: str
    hash: str
    prev_hash: str
    created_at: datetime


class LedgerOut(BaseModel):
    project_id: int
    sources: list[SourceOut]
    items: list[dict[str, Any]]
    committed_fen: int
    received_fen: int
    spent_fen: int
    payments: list[PaymentOut] | None  # None for residents: the summary only


class VerifyOut(BaseModel):
    ok: bool
    payments: int
    head_hash: str
    broken_seq: int | None = None
    broken_payment_id: int | None = None
    problem: str | None = None


class NoticeRefOut(BaseModel):
    notice_id: int


class RoleCreate(RequestBody):
    user_id: int = Field(ge=1)
    role: ThreeRole


class RoleOut(BaseModel):
    id: int
    user_id: int
    name: str
    role: ThreeRole
    appointed_by: int
    created_at: datetime


class RequestCreate(RequestBody):
    text: Text = Field(min_length=1, max_length=2000)
    household_id: int | None = Field(default=None, ge=1)


class RequestDecision(RequestBody):
    outcome: Literal["ticket", "design_change", "declined"]
    note: Text = Field(default="", max_length=1000)
    category: RepairCategory = Field(default="other", description="outcome ticket: the repair's category")


class RequestOut(BaseModel):
    id: int
    collector_id: int
    household_id: int | None
    text: str
    outcome: str
    ticket_id: int | None
    note: str
    created_at: datetime


class SupervisionCreate(RequestBody):
    item_id: int = Field(ge=1)
    note: Text = Field(min_length=1, max_length=2000)
    problem: bool = False
    deadline_on: date | None = None
    photo_ids: list[int] = Field(default_factory=list, max_length=9)


class SupervisionOut(BaseModel):
    id: int
    item_id: int
    supervisor_id: int
    note: str
    problem: bool
    ticket_id: int | None
    deadline_on: date | None
    photo_ids: list[int]
    created_at: datetime


class SignOffCreate(RequestBody):
    item_id: int = Field(ge=1)
    verdict: Literal["pass", "rectify", "fail"]
    note: Text = Field(default="", max_length=2000)
    photo_ids: list[int] = Field(default_factory=list, max_length=9)


class SignOffOut(BaseModel):
    id: int
    item_id: int
    inspector_id: int
    verdict: str
    note: str
    photo_ids: list[int]
    created_at: datetime


class MilestoneCreate(RequestBody):
    name: Line = Field(min_length=1, max_length=200)
    planned_on: date
    actual_on: date | None = None
    item_id: int | None = Field(default=None, ge=1)
    building_ids: list[int] = Field(default_factory=list, max_length=200)


class MilestoneUpdate(RequestBody):
    actual_on: date


class MilestoneOut(BaseModel):
    id: int
    name: str
    item_id: int | None
    planned_on: date
    actual_on: date | None
    building_ids: list[int]
    late: bool
    days_late: int


class StepCreate(RequestBody):
    name: Line = Field(min_length=1, max_length=200)
    submitted_on: date
    approved_on: date | None = None


class StepUpdate(RequestBody):
    approved_on: date


class StepOut(BaseModel):
    id: int
    name: str
    submitted_on: date
    approved_on: date | None
    working_days: int | None


class TimelineOut(BaseModel):
    steps: list[StepOut]
    total_working_days: int | None


class AssessmentCreate(RequestBody):
    period: Line = Field(pattern=r"^\d{4}H[12]$", description="e.g. 2024H1")
    summary: Text = Field(min_length=1, max_length=4000)
    scores: dict[Line, int] = Field(default_factory=dict, max_length=20)


class AssessmentOut(BaseModel):
    id: int
    period: str
    summary: str
    scores: dict[Line, int]
    author_id: int
    created_at: datetime
