"""services.db.create_engine: PostgreSQL connections run request statements without parallel workers
or JIT (a parallel plan's worker start-up cost a technician's list ~24 ms of its 32, docs/benchmarks.md),
unless the process is configured to allow them (LINLI_DB_PARALLEL_WORKERS)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import Settings
from services.db import create_engine


async def _shown(conn: object) -> tuple[str, str]:
    jit = (await conn.execute(sa.text("SHOW jit"))).scalar_one()  # type: ignore[attr-defined]
    workers = (await conn.execute(sa.text("SHOW max_parallel_workers_per_gather"))).scalar_one()  # type: ignore[attr-defined]
    return jit, workers


async def test_request_connections_plan_without_parallel_workers_or_jit(
    db: AsyncSession, settings: Settings
) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL settings (LINLI_TEST_DATABASE_URL)")
    assert await _shown(db) == ("off", "0")
    # A reporting process may allow some; the setting reaches its connections.
    engine = create_engine(settings.database_url, parallel_workers=2)
    try:
        async with engine.connect() as conn:
            assert await _shown(conn) == ("off", "2")
    finally:
        await engine.dispose()
    assert Settings(database_url=settings.database_url).db_parallel_workers == 0
