"""SLA policies (response and resolution targets) and per-community calendar exceptions."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import created_at_field, fk_field, id_field


class SlaPolicy(SQLModel, table=True):
    """An override of the built-in targets for one community × kind × category × priority.

    category "" applies to every category of the kind that has no row of its own.
    """

    __tablename__ = "sla_policy"
    __table_args__ = (sa.UniqueConstraint("community_id", "kind", "category", "priority"),)
    id: int | None = id_field()
    # The unique constraint leads with community_id, so it serves the lookups; no extra index.
    community_id: int = fk_field("community.id", index=False)
    kind: str = Field(max_length=20)
    category: str = Field(default="", max_length=40)
    priority: str = Field(max_length=10)
    response_minutes: int
    resolution_minutes: int
    calendar: str = Field(default="24x7", max_length=20)
    business_start: time = time(8, 30)
    business_end: time = time(17, 30)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class CalendarException(SQLModel, table=True):
    """A day the State Council (or the community) moved: working=True is an extra working day,
    working=False an extra day off. It wins over the statutory calendar from the `holidays` package."""

    __tablename__ = "calendar_exception"
    __table_args__ = (sa.UniqueConstraint("community_id", "day"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id", index=False)
    day: date
    working: bool
    note: str = Field(default="", max_length=100)
    created_at: datetime = created_at_field()
