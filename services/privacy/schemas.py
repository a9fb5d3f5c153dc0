from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from services.i18n import Labelled
from services.models.audit import ExportStatus
from services.schemas import ResponseBody


class AuditEntryOut(ResponseBody, Labelled):
    """One audit row, for the community admin and the platform admin."""

    LABELS: ClassVar[dict[str, str]] = {"action": "audit.action", "purpose": "audit.purpose"}

    id: int
    created_at: datetime
    community_id: int | None
    actor_id: int | None
    actor_name: str | None
    action: str
    entity: str
    entity_id: str | None
    subject_user_id: int | None
    subject_name: str | None
    purpose: str | None
    detail: dict[str, Any] | None
    ip: str | None
    action_label: str | None = None
    purpose_label: str | None = None


class AccessLogEntryOut(ResponseBody, Labelled):
    """Who read my data: the staff member's name and roles there, what and why, when (never whose
    else's data the same read touched)."""

    LABELS: ClassVar[dict[str, str]] = {"action": "audit.action", "purpose": "audit.purpose"}

    id: int
    at: datetime
    community_id: int | None
    community_name: str | None
    actor_name: str | None
    actor_roles: list[str]
    actor_role_labels: list[str]
    action: str
    purpose: str | None
    action_label: str | None = None
    purpose_label: str | None = None


class ExportOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"status": "privacy.export_status"}

    id: int
    status: ExportStatus
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    size_bytes: int | None
    download_url: str | None = None
    status_label: str | None = None
