"""Periodic housekeeping jobs. Each job opens its own transaction and is safe to repeat."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, delete

from services.bootstrap import Resources
from services.db import transaction
from services.models import IdempotencyRecord, OtpChallenge, RateLimitWindow, RefreshToken, utcnow


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


async def run_fanouts(resources: Resources) -> int:
    """Advance every open fan-out one chunk per transaction until done."""
    from services.notifications import fanout

    async with resources.sessionmaker() as session:
        ids = await fanout.open_fanout_ids(session)
    finished = 0
    for fanout_id in ids:
        done = False
        while not done:
            async with resources.unit() as session:
                done = await fanout.advance(session, fanout_id)
        finished += 1
    return finished


async def sms_for_unread_critical(resources: Resources) -> int:
    from services.notifications.fallback import add_sms_for_unread_critical

    async with resources.unit() as session:
        return await add_sms_for_unread_critical(session, resources.runtime.settings.sms_fallback_minutes)
