"""Renovation projects (老旧小区改造): the project and its items, the three resident roles (三员), their
requests, supervision records and sign-offs, the schedule, the approval steps, self-assessments, and
the funds ledger (资金使用台账).

Money is integer fen everywhere. A payment row is never updated or deleted: each carries its place in a
per-project hash chain (seq, prev_hash, hash) built with the ballots' helper (services.polls.chain), and
the project row keeps the chain head (payment_count, last_hash).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, fk_field, id_field
from services.models.polls import GENESIS_HASH


class ProjectStatus(StrEnum):
    planning = "planning"
    design = "design"
    publicity = "publicity"
    approval = "approval"
    construction = "construction"
    acceptance = "acceptance"
    aftercare = "aftercare"
    closed = "closed"


PHASES: tuple[str, ...] = tuple(s.value for s in ProjectStatus)


class ItemClass(StrEnum):
    basic = "basic"  # 基础类: roofs, pipes, fire safety
    improvement = "improvement"  # 完善类: lifts, parking, barrier-free, elderly-friendly
    upgrade = "upgrade"  # 提升类: community services


class ThreeRole(StrEnum):
    collector = "collector"  # 意见征集员
    supervisor = "supervisor"  # 施工监督员
    inspector = "inspector"  # 竣工验收员


class SignOffVerdict(StrEnum):
    passed = "pass"
    rectify = "rectify"
    failed = "fail"


class FundKind(StrEnum):
    central = "central"
    provincial = "provincial"
    county = "county"
    special_bond = "special_bond"
    employer_unit = "employer_unit"
    utility = "utility"
    social_capital = "social_capital"
    residents = "residents"
    maintenance_fund = "maintenance_fund"


class RenovationProject(SQLModel, table=True):
    __tablename__ = "renovation_project"
    __table_args__ = (sa.Index("ix_renovation_project_community_id_id", "community_id", "id"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    title: str = Field(max_length=200)
    year: int
    batch: str = Field(default="", max_length=40)
    status: str = Field(default=ProjectStatus.planning, max_length=16)
    # Evidence links (no foreign keys: polls and notices migrate on their own).
    needs_poll_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)  # 问需
    design_poll_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)  # 问计
    design_notice_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)  # round 1
    design_notice2_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)  # round 2
    vote_poll_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)
    vote_required: bool = False
    satisfaction_poll_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)  # 问效
    aftercare_starts_on: date | None = None
    # Head of the payment hash chain, advanced under the project row lock.
    payment_count: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)
    created_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class RenovationItem(SQLModel, table=True):
    __tablename__ = "renovation_item"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    item_class: str = Field(max_length=12)
    name: str = Field(max_length=200)
    quantity: str = Field(max_length=20)  # a decimal as text ("120.5"), exact
    unit: str = Field(max_length=20)
    budget_fen: int = Field(sa_type=sa.BigInteger)
    contractor: str = Field(default="", max_length=200)
    # 一楼一策: empty = the whole community.
    building_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = created_at_field()


class RenovationRole(SQLModel, table=True):
    __tablename__ = "renovation_role"
    __table_args__ = (sa.UniqueConstraint("project_id", "user_id", "role"),)
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id", index=False)
    user_id: int = fk_field("user_account.id")
    role: str = Field(max_length=12)
    appointed_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()


class RenovationRequest(SQLModel, table=True):
    """A resident's request logged by an opinion collector; it may become a ticket or a design change."""

    __tablename__ = "renovation_request"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    collector_id: int = fk_field("user_account.id")
    household_id: int | None = fk_field("household.id", nullable=True)
    text: str = Field(max_length=2000)
    outcome: str = Field(default="open", max_length=16)  # open | ticket | design_change | declined
    ticket_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)
    note: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()


class SupervisionRecord(SQLModel, table=True):
    __tablename__ = "renovation_supervision"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    item_id: int = fk_field("renovation_item.id")
    supervisor_id: int = fk_field("user_account.id")
    note: str = Field(max_length=2000)
    problem: bool = False
    ticket_id: int | None = Field(default=None, sa_type=BigIntId, nullable=True)
    deadline_on: date | None = None
    photo_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = created_at_field()


class ItemSignOff(SQLModel, table=True):
    __tablename__ = "renovation_signoff"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    item_id: int = fk_field("renovation_item.id")
    inspector_id: int = fk_field("user_account.id")
    verdict: str = Field(max_length=8)
    note: str = Field(default="", max_length=2000)
    photo_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = created_at_field()


class Milestone(SQLModel, table=True):
    __tablename__ = "renovation_milestone"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    item_id: int | None = fk_field("renovation_item.id", nullable=True)
    name: str = Field(max_length=200)
    planned_on: date
    actual_on: date | None = None
    building_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = created_at_field()


class FundSource(SQLModel, table=True):
    __tablename__ = "renovation_fund_source"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    kind: str = Field(max_length=20)
    name: str = Field(default="", max_length=200)
    committed_fen: int = Field(default=0, sa_type=sa.BigInteger)
    received_fen: int = Field(default=0, sa_type=sa.BigInteger)
    # Maintained under this row's lock with each payment: received - spent is the balance.
    spent_fen: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = created_at_field()


class Payment(SQLModel, table=True):
    """Append-only: never updated or deleted (services.renovation.ledger)."""

    __tablename__ = "renovation_payment"
    __table_args__ = (sa.UniqueConstraint("project_id", "seq"),)
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id", index=False)
    seq: int
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    item_id: int = fk_field("renovation_item.id")
    source_id: int = fk_field("renovation_fund_source.id")
    amount_fen: int = Field(sa_type=sa.BigInteger)
    payee: str = Field(max_length=200)
    approver_id: int = fk_field("user_account.id")
    recorded_by: int = fk_field("user_account.id")
    voucher_id: int = fk_field("attachment.id")
    memo: str = Field(default="", max_length=500)
    paid_on: date
    created_at: datetime = at_field(nullable=False)


class ApprovalStep(SQLModel, table=True):
    __tablename__ = "renovation_approval_step"
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id")
    name: str = Field(max_length=200)
    submitted_on: date
    approved_on: date | None = None
    created_at: datetime = created_at_field()


class SelfAssessment(SQLModel, table=True):
    __tablename__ = "renovation_self_assessment"
    __table_args__ = (sa.UniqueConstraint("project_id", "period"),)
    id: int | None = id_field()
    project_id: int = fk_field("renovation_project.id", index=False)
    period: str = Field(max_length=8)  # "2024H1"
    summary: str = Field(max_length=4000)
    scores: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    author_id: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()
