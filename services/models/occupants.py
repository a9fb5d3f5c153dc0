"""Occupants: the people of a household recorded by staff, with or without an app account (issue 21).

An elderly owner who never installs the app still phones the desk, gets SMS about their tickets and
notices, and counts in a household read rate. Their phone is personal information (PIPL): only
community staff see it in full."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class OccupantRelation(StrEnum):
    owner = "owner"
    tenant = "tenant"
    family = "family"
    carer = "carer"  # a live-in carer (保姆) or a relative who looks after the household
    other = "other"


class Occupant(SQLModel, table=True):
    __tablename__ = "occupant"
    __table_args__ = (
        sa.Index("ix_occupant_household_id_id", "household_id", "id"),
        # The desk finds a caller by the number they ring from.
        sa.Index("ix_occupant_community_id_phone", "community_id", "phone"),
    )
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    household_id: int = fk_field("household.id", index=False)
    name: str = Field(max_length=50)
    # E.164 (services.phones); None: reached on paper only.
    phone: str | None = Field(default=None, max_length=20)
    relation: str = Field(max_length=10)
    note: str = Field(default="", max_length=200)
    created_by_id: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    # Soft delete: tickets keep pointing at the person they were filed for.
    deleted_at: datetime | None = at_field()
