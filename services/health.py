"""Readiness checks for the database and Redis."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.runtime import Runtime


async def readiness(sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3), sessionmaker() as session:
            await session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.redis is not None:
        try:
            async with asyncio.timeout(3):
                await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    return checks
