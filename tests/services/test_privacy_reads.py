"""On embedded SQLite a GET reads in a DEFERRED transaction that must not write: the audit row of a
staff read is then deferred to its own write transaction right after (services/deferred_writes.py);
on PostgreSQL, and in any write transaction, it is written in the request's own transaction."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import Settings
from services.deferred_writes import take_deferred_writes
from services.models import AuditLog
from services.notifications.sms import LogSmsProvider
from services.privacy import reads
from services.runtime import Ctx, Runtime


async def test_a_read_transaction_defers_the_audit_row(
    engine: AsyncEngine, settings: Settings, db: AsyncSession
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL reads run in write-capable transactions")
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
    async with AsyncSession(engine.execution_options(sqlite_begin="DEFERRED")) as session:
        assert reads.read_only(session)
        ctx = Ctx(session=session, runtime=runtime, ip="203.0.113.9", request_id="req-1")
        await reads.record_read(
            ctx, "read.occupant", purpose="household_management", community_id=None, entity="occupant",
            entity_id=7,
        )  # fmt: skip
        [write] = take_deferred_writes(session)
        assert (await session.exec(select(AuditLog).where(AuditLog.request_id == "req-1"))).all() == []
    # The deferred write inserts the row as it was at read time.
    await write(db)
    [row] = (await db.exec(select(AuditLog).where(AuditLog.request_id == "req-1"))).all()
    assert (row.action, row.entity_id, row.ip, row.subject_user_id) == (
        "read.occupant",
        "7",
        "203.0.113.9",
        None,
    )
    assert not reads.read_only(db)
