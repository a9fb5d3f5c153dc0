"""After commit, hand new delivery ids to the broker. Best effort: if the broker (Redis) is down the
rows are already safe in the database and the sweeper re-queues them."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import take_after_commit
from services.notifications.outbox import DELIVERIES
from services.runtime import Runtime

log = logging.getLogger("linli.relay")
KICK_BATCH = 500


async def after_commit(session: AsyncSession, runtime: Runtime) -> None:
    ids = take_after_commit(session).get(DELIVERIES, [])
    if not ids or runtime.relay is None:
        return
    try:
        for start in range(0, len(ids), KICK_BATCH):
            await runtime.relay(ids[start : start + KICK_BATCH])
    except Exception as exc:  # never fail a committed request because the broker is away
        log.warning("relay of %d deliveries failed (%s); the sweeper will re-queue them", len(ids), exc)
