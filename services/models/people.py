"""People: users and their memberships (roles) in communities and companies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class Role(StrEnum):
    resident = "resident"
    property_staff = "property_staff"
    property_manager = "property_manager"
    committee_member = "committee_member"
    party_member = "party_member"
    party_secretary = "party_secretary"
    grid_worker = "grid_worker"
    community_admin = "community_admin"
    platform_admin = "platform_admin"
    # 街道办事处: read-only over a set of communities, one membership per community (issue 18).
    street_office = "street_office"


COMPANY_ROLES = frozenset({Role.property_staff, Role.property_manager})
COMMUNITY_ROLES = frozenset(set(Role) - COMPANY_ROLES - {Role.platform_admin})
# Roles that grant reading only: kept out of Principal.community_roles (services.access).
READ_ONLY_ROLES = frozenset({Role.street_office})


class Relation(StrEnum):
    owner = "owner"
    tenant = "tenant"
    family = "family"


class MembershipStatus(StrEnum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"
    revoked = "revoked"
    # A role offered to a person by phone: it grants nothing until they accept it (issue 13).
    invited = "invited"


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    id: int | None = id_field()
    phone: str = Field(max_length=20, unique=True)
    name: str = Field(default="", max_length=50)
    locale: str = Field(default="zh-CN", max_length=10)
    password_hash: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
    disabled_at: datetime | None = at_field()
    last_login_at: datetime | None = at_field()
    # Account deletion (注销): requested, then erased by the scheduler once the cooling-off has passed
    # (services.users.deletion); logging in before `deletion_due_at` cancels it.
    deletion_requested_at: datetime | None = at_field()
    deletion_due_at: datetime | None = at_field(index=True)
    erased_at: datetime | None = at_field()


class Membership(SQLModel, table=True):
    """A role held by a user in one community or one company (platform admins hold neither)."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.CheckConstraint("(community_id IS NULL) OR (company_id IS NULL)", name="one_scope"),
        # "Who are the managers / committee members here?" runs on every ticket and notice.
        sa.Index("ix_membership_role_status", "role", "status"),
    )
    id: int | None = id_field()
    user_id: int = fk_field("user_account.id")
    community_id: int | None = fk_field("community.id", nullable=True)
    company_id: int | None = fk_field("property_company.id", nullable=True)
    role: str = Field(max_length=30)
    household_id: int | None = fk_field("household.id", nullable=True)
    relation: str | None = Field(default=None, max_length=10)
    status: str = Field(default=MembershipStatus.verified, max_length=10, index=True)
    note: str | None = Field(default=None, max_length=200)
    decided_by: int | None = fk_field("user_account.id", nullable=True)
    decision_reason: str | None = Field(default=None, max_length=200)
    verified_at: datetime | None = at_field()
    created_at: datetime = created_at_field()
