"""Scheduler job: build the pending personal-data exports and expire old ones (services/privacy/export.py)."""

from __future__ import annotations

from services.attachments.storage import storage_for
from services.bootstrap import Resources
from services.privacy import export


async def build_privacy_exports(resources: Resources) -> int:
    settings = resources.runtime.settings
    return await export.run_pending(resources.sessionmaker, settings, storage_for(settings))
