"""Scheduled poll jobs: announce polls whose opening time has come, close and freeze due polls.

Both are safe to repeat and to run on several workers at once: rows are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has a single writer), and each poll is handled once
(announced_at / closed_at are set in the same transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.polls.common  # noqa: F401  (registers tables, codes and templates)
from services.models import utcnow
from services.models.polls import Poll
from services.polls.service import announce, freeze

BATCH = 50


async def close_due_polls(session: AsyncSession, now: datetime | None = None, limit: int = BATCH) -> int:
    """Close polls past closes_at and store their final result snapshot; returns how many."""
    now = now or utcnow()
    polls = (
        await session.exec(
            select(Poll)
            .where(col(Poll.closed_at).is_(None), Poll.closes_at <= now)
            .order_by(col(Poll.closes_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for poll in polls:
        await freeze(session, poll, now)
    return len(polls)


async def announce_open_polls(session: AsyncSession, now: datetime | None = None, limit: int = BATCH) -> int:
    """Notify eligible residents of polls that have opened since the last run; returns how many polls."""
    now = now or utcnow()
    polls = (
        await session.exec(
            select(Poll)
            .where(
                col(Poll.announced_at).is_(None),
                Poll.opens_at <= now,
                Poll.closes_at > now,
                col(Poll.closed_at).is_(None),
            )
            .order_by(col(Poll.opens_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for poll in polls:
        await announce(session, poll, now)
    return len(polls)
