"""Audit log: every privileged action, who did it, from where, and what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import created_at_field, fk_field, id_field


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = id_field()
    actor_id: int | None = fk_field("user_account.id", nullable=True)
    community_id: int | None = fk_field("community.id", nullable=True)
    action: str = Field(max_length=60, index=True)
    entity: str = Field(max_length=40)
    entity_id: str | None = Field(default=None, max_length=40)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    ip: str | None = Field(default=None, max_length=45)
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
