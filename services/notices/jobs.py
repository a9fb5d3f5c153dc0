"""Scheduler jobs of the notices area. Each takes a session inside the caller's transaction, is safe to
repeat, and on PostgreSQL skips rows another scheduler holds (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import utcnow
from services.models.notices import Notice, NoticeComment, NoticeKind, NoticeOutcome, NoticeStatus
from services.notices.publishing import publish_now

BATCH = 100


async def publish_due(session: AsyncSession, now: datetime | None = None, batch: int = BATCH) -> int:
    """Scheduled notices whose publish_at has come → published (receipts + notifications)."""
    now = now or utcnow()
    due = (
        await session.exec(
            select(Notice)
            .where(Notice.status == NoticeStatus.scheduled, col(Notice.publish_at) <= now)
            .order_by(col(Notice.publish_at))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for notice in due:
        await publish_now(session, notice, now)
    return len(due)


def outcome_of(objections: int, answered: int) -> NoticeOutcome:
    if objections == 0:
        return NoticeOutcome.no_objections
    return NoticeOutcome.objections_answered if answered >= objections else NoticeOutcome.objections_pending


async def close_publicity_windows(
    session: AsyncSession, now: datetime | None = None, batch: int = BATCH
) -> int:
    """Publicity windows that have closed: record the outcome with its counts (once)."""
    now = now or utcnow()
    closing = (
        await session.exec(
            select(Notice)
            .where(
                Notice.kind == NoticeKind.publicity,
                col(Notice.status).in_([NoticeStatus.published, NoticeStatus.expired]),
                col(Notice.comment_closes_at) <= now,
                col(Notice.outcome).is_(None),
            )
            .order_by(col(Notice.comment_closes_at))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for notice in closing:
        await record_outcome(session, notice, now)
    await session.flush()
    return len(closing)


async def record_outcome(session: AsyncSession, notice: Notice, now: datetime) -> None:
    """The publicity's outcome with its counts, as they stand when the window closes."""
    c = NoticeComment.__table__  # type: ignore[attr-defined]
    objection = c.c.is_objection.is_(True)
    row = (
        await session.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(sa.case((objection, 1))),
                sa.func.count(sa.case((sa.and_(objection, c.c.answered_at.is_not(None)), 1))),
            ).where(c.c.notice_id == notice.id)
        )
    ).one()
    comments, objections, answered = int(row[0]), int(row[1]), int(row[2])
    notice.outcome = outcome_of(objections, answered)
    notice.outcome_detail = {
        "comments": comments,
        "objections": objections,
        "objections_answered": answered,
        "objections_pending": objections - answered,
    }
    notice.outcome_at = now
    notice.updated_at = now
    session.add(notice)


async def expire_notices(session: AsyncSession, now: datetime | None = None) -> int:
    """Published notices past expires_at → expired (one UPDATE)."""
    now = now or utcnow()
    table = Notice.__table__  # type: ignore[attr-defined]
    result = await session.execute(
        sa.update(table)
        .where(table.c.status == NoticeStatus.published, table.c.expires_at <= now)
        .values(status=NoticeStatus.expired, pinned=False, updated_at=now, version=table.c.version + 1)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
