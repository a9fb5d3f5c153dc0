"""The migrations build exactly the schema the models describe, on this run's engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import services.models  # noqa: F401  (what Alembic's env.py sees)


async def test_models_and_migrations_agree(engine: AsyncEngine, database_url: str) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
        )
    assert diff == [], (
        "a model changed without an Alembic revision (or a table is missing from services.models)"
    )
