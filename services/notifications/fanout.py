"""Large audiences (a notice to a 10,000-household estate): record the intent in the caller's
transaction, then write inbox rows and deliveries in chunks, one short transaction each.

After the caller commits, the fan-out id goes to the runtime's `fanout_relay` (services.notifications.relay;
workers.jobs.LocalFanouts), which expands it at once in the committing process; the scheduler's
`run_fanouts` finishes any that a dead process left open."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import defer_after_commit
from services.models import NotificationFanout, utcnow
from services.notifications.catalog import category as get_category
from services.notifications.outbox import notify

CHUNK = 2_500  # recipients per transaction: the statements are set-based, a chunk is ~4 statements
# SQLite has one write lock for the whole file, and every request that writes (a resident marking a
# notice read, a ticket filed) waits for it behind the fan-out: there a chunk must hold the lock for
# tens of milliseconds, not a second, and the expander pauses between chunks so that a waiting
# writer gets in: SQLite's busy handler polls every 100 ms once it has waited a while, so back-to-back
# chunks of this process would win the lock again and again and starve it into a 503 request.busy.
SQLITE_CHUNK = 500
SQLITE_PAUSE_SECONDS = 0.1
FANOUTS = "fanouts"


def chunk_for(session: AsyncSession) -> tuple[int, float]:
    """(recipients per transaction, pause between transactions) for the session's database."""
    if session.get_bind().dialect.name == "sqlite":
        return SQLITE_CHUNK, SQLITE_PAUSE_SECONDS
    return CHUNK, 0.0


async def notify_later(
    session: AsyncSession,
    recipients: Iterable[int],
    category: str,
    template: str,
    data: dict[str, Any],
    dedupe_key: str,
    *,
    community_id: int | None = None,
) -> int | None:
    """Returns the fan-out id, or None when this event was already recorded (a retry)."""
    get_category(category)  # fail fast on a typo, inside the caller's transaction
    row = NotificationFanout(
        community_id=community_id,
        category=category,
        template=template,
        data=data,
        dedupe_key=dedupe_key,
        recipients=sorted(set(recipients)),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    defer_after_commit(session, FANOUTS, [row.id or 0])
    return row.id


async def open_fanout_ids(session: AsyncSession, limit: int = 20) -> list[int]:
    rows = await session.exec(
        select(NotificationFanout.id)
        .where(col(NotificationFanout.done_at).is_(None))
        .order_by(col(NotificationFanout.id))
        .limit(limit)
    )
    return [int(i) for i in rows.all() if i is not None]


async def advance(session: AsyncSession, fanout_id: int, chunk: int | None = None) -> bool:
    """Write the next chunk (CHUNK recipients by default); returns True when the fan-out is complete.
    Call in its own transaction."""
    chunk = chunk or CHUNK
    job = (
        await session.exec(
            select(NotificationFanout).where(NotificationFanout.id == fanout_id).with_for_update()
        )
    ).first()
    if job is None or job.done_at is not None:
        return True
    part = job.recipients[job.next_index : job.next_index + chunk]
    if part:
        await notify(
            session, part, job.category, job.template, job.data, job.dedupe_key, community_id=job.community_id
        )
    job.next_index += len(part)
    if job.next_index >= len(job.recipients):
        job.done_at = utcnow()
    session.add(job)
    await session.flush()
    return job.done_at is not None
