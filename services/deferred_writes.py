"""Writes that a read causes (a notice fetched by the app is delivered), run after the read.

A GET runs in a read-only transaction: on SQLite (BEGIN DEFERRED) a write in it would have to upgrade
to the write lock, and that fails at once with "database is locked" when another writer committed
since the read began, whatever busy_timeout says. So a read only records what it wants written;
the caller runs each write afterwards in its own short write transaction (the API does so after the
response is sent). Best effort: a write that cannot get the lock is logged and dropped, and the next
read asks for it again (the feed marks every receipt on its page that is not yet delivered).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import transaction

log = logging.getLogger("linli.deferred_writes")

DEFERRED_WRITES = "linli.deferred_writes"
Write = Callable[[AsyncSession], Awaitable[None]]


def defer_write(session: AsyncSession, write: Write) -> None:
    """Ask for `write` to run once the read's transaction is over, in a write transaction of its own."""
    session.info.setdefault(DEFERRED_WRITES, []).append(write)


def take_deferred_writes(session: AsyncSession) -> list[Write]:
    writes: list[Write] = session.info.pop(DEFERRED_WRITES, [])
    return writes


async def run_deferred_writes(sessionmaker: async_sessionmaker[AsyncSession], writes: list[Write]) -> None:
    for write in writes:
        try:
            async with sessionmaker() as session, transaction(session):
                await write(session)
        except Exception as exc:
            log.warning("deferred write %s dropped (%s); the next read asks again", write, exc)
