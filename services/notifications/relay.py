"""After commit, hand new delivery ids to the broker and new fan-out jobs to the fan-out relay. Best
effort: the rows are already safe in the database; if the broker (Redis) is down the sweeper re-queues
the deliveries, and the scheduler's `run_fanouts` expands any fan-out left open."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import take_after_commit
from services.notifications.fanout import FANOUTS
from services.notifications.outbox import DELIVERIES
from services.runtime import Runtime

log = logging.getLogger("linli.relay")
KICK_BATCH = 500


async def after_commit(session: AsyncSession, runtime: Runtime) -> None:
    taken = take_after_commit(session)
    fanouts = taken.get(FANOUTS, [])
    if fanouts and runtime.fanout_relay is not None:
        try:
            await runtime.fanout_relay(fanouts)
        except Exception as exc:
            log.warning("fan-outs %s not started (%s); the scheduler will expand them", fanouts, exc)
    ids = taken.get(DELIVERIES, [])
    if not ids or runtime.relay is None:
        return
    try:
        for start in range(0, len(ids), KICK_BATCH):
            await runtime.relay(ids[start : start + KICK_BATCH])
    except Exception as exc:  # never fail a committed request because the broker is away
        log.warning("relay of %d deliveries failed (%s); the sweeper will re-queue them", len(ids), exc)
