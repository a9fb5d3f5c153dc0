"""Audit log: every privileged action, who did it, from where, and what changed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        # A resident's access log and the admin's search by subject / actor, newest first.
        sa.Index("ix_audit_log_subject_user_id_id", "subject_user_id", "id"),
        sa.Index("ix_audit_log_actor_id_id", "actor_id", "id"),
    )
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
    # Audited reads (services/privacy/reads.py): whose personal data was read, and why.
    subject_user_id: int | None = fk_field("user_account.id", nullable=True, index=False)
    purpose: str | None = Field(default=None, max_length=40)
    created_at: datetime = created_at_field()


class ExportStatus(StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"
    expired = "expired"


class PrivacyExport(SQLModel, table=True):
    """A person's request for a copy of their data (PIPL art. 45); the archive is a stored file."""

    __tablename__ = "privacy_export"
    __table_args__ = (sa.Index("ix_privacy_export_user_id_id", "user_id", "id"),)
    id: int | None = id_field()
    user_id: int = fk_field("user_account.id", index=False)
    status: str = Field(default=ExportStatus.pending, max_length=10, index=True)
    storage_key: str | None = Field(default=None, max_length=80)
    size_bytes: int | None = None
    attempts: int = 0
    error: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
    ready_at: datetime | None = at_field()
    # The archive (and its links) expire; the retention of the file follows this.
    expires_at: datetime | None = at_field()
