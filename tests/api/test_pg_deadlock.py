"""PostgreSQL breaks a deadlock by aborting one transaction: that request wrote nothing and a retry
succeeds, so it answers 503 request.busy with Retry-After — never a 500."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from api.errors import install
from services.config import Settings
from services.db import create_engine


async def test_a_deadlock_victim_answers_503_with_retry_after(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("deadlock detection is a PostgreSQL property (SQLite has one writer)")
    engine = create_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE IF EXISTS deadlock_probe"))
        await conn.execute(sa.text("CREATE TABLE deadlock_probe (id int PRIMARY KEY, v text)"))
        await conn.execute(sa.text("INSERT INTO deadlock_probe VALUES (1, 'x'), (2, 'y')"))
    update = sa.text("UPDATE deadlock_probe SET v = :v WHERE id = :id")

    app = FastAPI()
    install(app)

    @app.post("/crossed")
    async def crossed() -> dict[str, str]:
        # Two transactions take rows 1 and 2, then each wants the other's: PostgreSQL aborts one.
        a, b = await engine.connect(), await engine.connect()
        try:
            ta, tb = await a.begin(), await b.begin()
            await a.execute(update, {"v": "a", "id": 1})
            await b.execute(update, {"v": "b", "id": 2})

            async def then(conn: sa.ext.asyncio.AsyncConnection, trans: object, row: int) -> None:
                try:
                    await conn.execute(update, {"v": "z", "id": row})
                except DBAPIError:
                    await trans.rollback()  # type: ignore[attr-defined]  # frees the other one
                    raise

            out = await asyncio.gather(then(a, ta, 2), then(b, tb, 1), return_exceptions=True)
            for result in out:
                if isinstance(result, BaseException):
                    raise result
            return {"ok": "no deadlock"}
        finally:
            await a.close()
            await b.close()

    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/crossed", headers={"Accept-Language": "en"})
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "request.busy"
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE deadlock_probe"))
        await engine.dispose()
