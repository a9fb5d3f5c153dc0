"""The embedded default (SQLite) does not refuse readers while others write: the notice feed and the
notice detail answer 200 whatever holds the write lock, and the delivery they record is written after
the read, in a write transaction of its own, once the lock is free."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from api.main import create_app
from services import migrations
from services.bootstrap import Resources, build_resources
from services.config import Settings
from services.db import create_engine
from services.models.notices import NoticeReceipt
from tests import factories as f


@dataclass
class Embedded:
    path: Path
    res: Resources
    client: httpx.AsyncClient
    resident_id: int
    notice_id: int
    headers: dict[str, str]

    async def delivered(self) -> bool:
        assert self.res.read_sessionmaker is not None  # reads beside a held write lock
        async with self.res.read_sessionmaker() as session:
            row = (
                await session.exec(
                    select(NoticeReceipt).where(
                        NoticeReceipt.user_id == self.resident_id, NoticeReceipt.notice_id == self.notice_id
                    )
                )
            ).one()
            return row.delivered_at is not None

    def lock(self) -> sqlite3.Connection:
        """Another writer (say a resident filing a ticket) in the middle of its transaction."""
        holder = sqlite3.connect(self.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE community SET name = name || ''")
        return holder


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    path = tmp_path / "linli.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrations.upgrade, url)
    settings = Settings(
        env="test",
        database_url=url,
        jwt_secret=f.SECRET,  # type: ignore[arg-type]
        embedded_worker=False,
        var_dir=tmp_path,
    )
    engine = create_engine(url)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _short_wait(dbapi_connection: Any, _record: Any) -> None:
        # A writer that cannot get the lock gives up after 0.2 s instead of 15 s.
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    res = build_resources(settings, engine)
    async with res.sessionmaker() as db:
        w = await f.notice_world(db)
        await db.commit()
        resident = w.residents[0]
        app = create_app(settings, res)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://linli.test") as client,
        ):
            notice = await f.post_notice(client, w.committee, w.cid)
            assert resident.id is not None
            yield Embedded(path, res, client, resident.id, int(notice["id"]), f.auth(resident))
    await res.close()


@pytest.mark.parametrize("url", ["/v1/notices", "/v1/notices/{id}"])
async def test_a_writer_committing_during_the_read_does_not_refuse_the_reader(
    embedded: Embedded, url: str
) -> None:
    """The writer commits between the read's SELECT and the delivery mark: a write inside the read's
    transaction could then never get the lock (its snapshot is stale), whatever it waits."""
    holder = embedded.lock()

    def commit_after_the_read(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (
            statement.lstrip().upper().startswith("SELECT")
            and "notice_receipt" in statement
            and holder.in_transaction
        ):
            holder.execute("COMMIT")

    sa.event.listen(embedded.res.engine.sync_engine, "after_cursor_execute", commit_after_the_read)
    try:
        r = await embedded.client.get(url.format(id=embedded.notice_id), headers=embedded.headers)
        assert not holder.in_transaction  # the writer did commit in the middle of the read
    finally:
        sa.event.remove(embedded.res.engine.sync_engine, "after_cursor_execute", commit_after_the_read)
        holder.close()
    assert r.status_code == 200, r.text
    assert await embedded.delivered()


@pytest.mark.parametrize("url", ["/v1/notices", "/v1/notices/{id}"])
async def test_a_writer_holding_the_lock_throughout_does_not_refuse_the_reader(
    embedded: Embedded, url: str
) -> None:
    holder = embedded.lock()
    try:
        r = await embedded.client.get(url.format(id=embedded.notice_id), headers=embedded.headers)
        assert r.status_code == 200, r.text
        assert not await embedded.delivered()
    finally:
        holder.execute("COMMIT")
        holder.close()
    # ... and the next read, with the lock free, records it.
    r = await embedded.client.get(url.format(id=embedded.notice_id), headers=embedded.headers)
    assert r.status_code == 200, r.text
    assert await embedded.delivered()
