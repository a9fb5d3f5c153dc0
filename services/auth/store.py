"""Short-lived login state: OTP codes and rate-limit windows, in Redis when configured, else in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlmodel import col, delete, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import insert_for
from services.models import OtpChallenge, RateLimitWindow
from services.models.base import utcnow


@dataclass(frozen=True)
class StoredOtp:
    code_hash: str
    attempts: int


class LoginStore(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one event; return seconds to wait when the window's limit is exceeded."""

    async def refund(self, key: str) -> None:
        """Take back one event counted by hit() (the attempt succeeded), if its window still runs."""

    async def save_otp(self, phone: str, code_hash: str, ttl_seconds: int) -> None: ...

    async def take_attempt(self, phone: str) -> StoredOtp | None:
        """Count one attempt on the phone's live challenge and return it with that count, in one
        atomic step, so parallel guesses each get their own number; None when there is none or it expired."""

    async def drop_otp(self, phone: str) -> bool:
        """Delete the challenge; True for the one caller that actually removed it."""


# Count an attempt only on a live challenge: HINCRBY alone would recreate an expired or dropped one.
_TAKE_ATTEMPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local attempts = redis.call('HINCRBY', KEYS[1], 'a', 1)
return {redis.call('HGET', KEYS[1], 'h'), attempts}
"""
# DECR alone would recreate an expired window with no TTL.
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisLoginStore:
    def __init__(self, redis: Redis, prefix: str = "linli:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        name = f"{self.prefix}rl:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        return None if int(count) <= limit else max(int(ttl), 1)

    async def save_otp(self, phone: str, code_hash: str, ttl_seconds: int) -> None:
        name = f"{self.prefix}otp:{phone}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            pipe.hset(name, mapping={"h": code_hash, "a": 0})
            pipe.expire(name, ttl_seconds)
            await pipe.execute()

    async def refund(self, key: str) -> None:
        await self.redis.eval(_REFUND, 1, f"{self.prefix}rl:{key}")  # type: ignore[misc]

    async def take_attempt(self, phone: str) -> StoredOtp | None:
        found = await self.redis.eval(_TAKE_ATTEMPT, 1, f"{self.prefix}otp:{phone}")  # type: ignore[misc]
        if not found:
            return None
        code_hash, attempts = found
        return StoredOtp(code_hash=_text(code_hash), attempts=int(attempts))

    async def drop_otp(self, phone: str) -> bool:
        return bool(await self.redis.delete(f"{self.prefix}otp:{phone}"))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class DbLoginStore:
    """Database fallback. Its writes ride in the request's transaction, so failures that must
    still count are raised with keep_changes=True."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = utcnow()
        resets = now + timedelta(seconds=window_seconds)
        table = RateLimitWindow.__table__  # type: ignore[attr-defined]
        live = table.c.resets_at > now
        stmt = (
            insert_for(self.session)(table)
            .values(key=key, count=1, resets_at=resets)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "count": sa.case((live, table.c.count + 1), else_=1),
                    "resets_at": sa.case((live, table.c.resets_at), else_=resets),
                },
            )
            .returning(table.c.count, table.c.resets_at)
        )
        count, resets_at = (await self.session.execute(stmt)).one()
        return None if count <= limit else seconds_until(resets_at)

    async def refund(self, key: str) -> None:
        await self.session.execute(
            update(RateLimitWindow)
            .where(
                col(RateLimitWindow.key) == key,
                col(RateLimitWindow.count) > 0,
                col(RateLimitWindow.resets_at) > utcnow(),
            )
            .values(count=col(RateLimitWindow.count) - 1)
        )

    async def save_otp(self, phone: str, code_hash: str, ttl_seconds: int) -> None:
        await self.session.execute(delete(OtpChallenge).where(OtpChallenge.phone == phone))  # type: ignore[arg-type]
        self.session.add(
            OtpChallenge(
                phone=phone,
                code_hash=code_hash,
                attempts=0,
                expires_at=utcnow() + timedelta(seconds=ttl_seconds),
            )
        )
        await self.session.flush()

    async def take_attempt(self, phone: str) -> StoredOtp | None:
        # One UPDATE: PostgreSQL locks the row until this request commits, so a parallel guess waits and
        # then counts on top (a read, then a write, would let both read the same count).
        result = await self.session.execute(
            update(OtpChallenge)
            .where(col(OtpChallenge.phone) == phone, col(OtpChallenge.expires_at) > utcnow())
            .values(attempts=col(OtpChallenge.attempts) + 1)
            .returning(col(OtpChallenge.code_hash), col(OtpChallenge.attempts))
        )
        row = result.first()
        return None if row is None else StoredOtp(code_hash=row[0], attempts=int(row[1]))

    async def drop_otp(self, phone: str) -> bool:
        result = await self.session.execute(delete(OtpChallenge).where(col(OtpChallenge.phone) == phone))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def seconds_until(when: datetime) -> int:
    return max(1, int((when - utcnow()).total_seconds() + 0.999))
