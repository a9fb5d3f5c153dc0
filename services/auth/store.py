"""Short-lived login state: OTP codes, in Redis when configured, else in the database.

Rate limits live in services.auth.ratelimit (the `limits` library's moving window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from redis.asyncio import Redis
from sqlmodel import col, delete, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import OtpChallenge
from services.models.base import utcnow


@dataclass(frozen=True)
class StoredOtp:
    code_hash: str
    attempts: int


class LoginStore(Protocol):
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


class RedisLoginStore:
    def __init__(self, redis: Redis, prefix: str = "linli:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def save_otp(self, phone: str, code_hash: str, ttl_seconds: int) -> None:
        name = f"{self.prefix}otp:{phone}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            pipe.hset(name, mapping={"h": code_hash, "a": 0})
            pipe.expire(name, ttl_seconds)
            await pipe.execute()

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
