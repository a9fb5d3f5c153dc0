"""Scheduler job: delete what has outlived its retention period (services/retention.py)."""

from __future__ import annotations

from services import retention
from services.attachments.storage import storage_for
from services.bootstrap import Resources
from services.models import utcnow


async def enforce_retention(resources: Resources) -> int:
    settings = resources.runtime.settings
    removed = await retention.enforce(resources.sessionmaker, settings, storage_for(settings), utcnow())
    return sum(removed.values())
