"""On PostgreSQL a GET's session runs in autocommit (services/bootstrap.py): no BEGIN / COMMIT round
trips. Checked on the app as deployed (build_resources, committed rows): the read's connection holds
no transaction, a write request's does, and an audited read's INSERT is there once the GET answered."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from api.main import create_app
from services.bootstrap import build_resources
from services.config import Settings
from services.db import session_factory, transaction
from services.models import AuditLog
from tests import factories as f
from tests.committed_world import delete_ticket_world


async def test_reads_run_in_autocommit_and_an_audited_read_is_kept(
    settings: Settings, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads BEGIN DEFERRED instead (tests/api/test_sqlite_readers.py)")
    res = build_resources(settings, engine=engine)
    assert res.read_sessionmaker is not None
    async with res.read_sessionmaker() as s, transaction(s):
        await s.execute(sa.text("SELECT 1"))
        raw = await (await s.connection()).get_raw_connection()
        assert not raw.driver_connection.is_in_transaction()  # type: ignore[union-attr]
    async with res.sessionmaker() as s, transaction(s):
        await s.execute(sa.text("SELECT 1"))
        raw = await (await s.connection()).get_raw_connection()
        assert raw.driver_connection.is_in_transaction()  # type: ignore[union-attr]

    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    app = create_app(settings, res)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli.test") as client,
        ):
            r = await client.get("/v1/me", headers=f.auth(w.resident))
            assert r.status_code == 200, r.text
            url = f"/v1/communities/{w.cid}/households/{w.household.id}/occupants"
            r = await client.get(url, headers=f.auth(w.manager))
            assert r.status_code == 200, r.text
            async with maker() as s:
                actors = (
                    (
                        await s.execute(
                            sa.select(AuditLog.actor_id).where(
                                col(AuditLog.action) == "read.household_occupants",
                                col(AuditLog.community_id) == w.cid,
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            assert actors == [w.manager.id]
    finally:
        async with maker() as s, transaction(s):
            await s.execute(sa.delete(AuditLog).where(col(AuditLog.community_id) == w.cid))
        await delete_ticket_world(engine, w)
