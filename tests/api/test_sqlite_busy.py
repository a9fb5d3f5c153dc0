"""The embedded default under write contention: readers do not queue for SQLite's write lock, and a
request that gives up waiting for it answers 503 with Retry-After (retryable), never a 500."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from api.errors import install
from services.bootstrap import build_resources
from services.config import Settings
from services.db import create_engine, transaction


def _locked_file(path: Path) -> sqlite3.Connection:
    """A database file with one row, and a connection holding its write lock."""
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        setup.execute("INSERT INTO t (v) VALUES ('x')")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (v) VALUES ('held')")
    return holder


async def test_reads_do_not_wait_for_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = _locked_file(path)
    settings = Settings(env="test", database_url=f"sqlite+aiosqlite:///{path}", var_dir=tmp_path)
    res = build_resources(settings)
    try:
        assert res.read_sessionmaker is not None
        t0 = time.perf_counter()
        async with res.read_sessionmaker() as session, transaction(session):
            rows = (await session.execute(sa.text("SELECT v FROM t"))).scalars().all()
        assert rows == ["x"]  # the committed row; the holder's is not visible
        assert time.perf_counter() - t0 < 2  # not the 15 s busy_timeout

        # A writer does wait for it (BEGIN IMMEDIATE): it gets through once the holder commits.
        async def write() -> None:
            async with res.sessionmaker() as session, transaction(session):
                await session.execute(sa.text("INSERT INTO t (v) VALUES ('y')"))

        task = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not task.done()
        holder.execute("COMMIT")
        await asyncio.wait_for(task, 10)
    finally:
        holder.close()
        await res.close()


async def test_a_lock_timeout_answers_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "busy.db"
    holder = _locked_file(path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _short_wait(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=100")  # type: ignore[attr-defined]

    app = FastAPI()
    install(app)

    @app.post("/write")
    async def write() -> dict[str, str]:
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO t (v) VALUES ('z')"))
        return {"ok": "yes"}

    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/write", headers={"Accept-Language": "en"})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "request.busy"
        assert "busy" in r.json()["error"]["message"]
    finally:
        holder.close()
        await engine.dispose()
