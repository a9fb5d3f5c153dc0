"""Periodic housekeeping jobs. Each job opens its own transaction and is safe to repeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlmodel import col, delete

from services.bootstrap import Resources
from services.db import transaction
from services.models import IdempotencyRecord, OtpChallenge, RateLimitWindow, RefreshToken, utcnow

log = logging.getLogger("linli.jobs")


async def purge_expired_login_state(resources: Resources) -> int:
    """Expired OTP codes, rate windows, day-old idempotency records and long-dead refresh tokens."""
    now = utcnow()
    removed = 0
    async with resources.sessionmaker() as session, transaction(session):
        for stmt in (
            delete(OtpChallenge).where(col(OtpChallenge.expires_at) < now),
            delete(RateLimitWindow).where(col(RateLimitWindow.resets_at) < now),
            delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now - timedelta(days=1)),
            delete(RefreshToken).where(col(RefreshToken.expires_at) < now - timedelta(days=7)),
        ):
            result = await session.execute(stmt)
            removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed


async def run_fanout(resources: Resources, fanout_id: int) -> None:
    """Advance one fan-out a chunk per transaction until done (each chunk's deliveries go to the relay
    after its commit). Safe beside another runner: `advance` locks the job row per chunk."""
    from services.notifications import fanout

    done = False
    while not done:
        async with resources.unit() as session:
            chunk, pause = fanout.chunk_for(session)
            done = await fanout.advance(session, fanout_id, chunk)
        if pause and not done:
            await asyncio.sleep(pause)  # SQLite: let the requests waiting for the write lock in


class LocalFanouts:
    """The fan-out relay of a process (API or scheduler): expands the fan-outs its transactions commit
    at once, in a background task of this process, each chunk's deliveries going to the delivery relay
    after the chunk's commit. Nothing is lost if the process dies meanwhile: the job row says where it
    stopped and the scheduler's `run_fanouts` finishes it."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, fanout_ids: list[int]) -> None:
        task = asyncio.create_task(self._run(list(fanout_ids)), name="linli-fanout")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, fanout_ids: list[int]) -> None:
        for fanout_id in fanout_ids:
            try:
                await run_fanout(self.resources, fanout_id)
            except Exception:
                log.exception("fan-out %s stopped; the scheduler's run_fanouts resumes it", fanout_id)

    async def close(self, within: float = 10.0) -> None:
        """Let running expansions finish (a chunk is a short transaction), then cancel the rest."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=within)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def run_fanouts(resources: Resources) -> int:
    """Finish every open fan-out (those the broker did not hand to a worker, or a crashed one's)."""
    from services.notifications import fanout

    async with resources.sessionmaker() as session:
        ids = await fanout.open_fanout_ids(session)
    for fanout_id in ids:
        await run_fanout(resources, fanout_id)
    return len(ids)


async def sms_for_unread_critical(resources: Resources) -> int:
    from services.notifications.fallback import add_sms_for_unread_critical

    async with resources.unit() as session:
        return await add_sms_for_unread_critical(session, resources.runtime.settings.sms_fallback_minutes)
