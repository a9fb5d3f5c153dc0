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
