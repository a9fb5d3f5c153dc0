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

    async def save_otp(self, phone: str, code_hash: str, ttl_seconds: int) -> None: ...

    async def load_otp(self, phone: str) -> StoredOtp | None:
        """The live challenge for a phone, or None when there is none or it expired."""

    async def count_failure(self, phone: str) -> int: ...

    async def drop_otp(self, phone: str) -> None: ...


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

    async def load_otp(self, phone: str) -> StoredOtp | None:
        data = await self.redis.hgetall(f"{self.prefix}otp:{phone}")
        if not data:
            return None
        return StoredOtp(code_hash=_text(data[b"h"]), attempts=int(data[b"a"]))

    async def count_failure(self, phone: str) -> int:
        return int(await self.redis.hincrby(f"{self.prefix}otp:{phone}", "a", 1))

    async def drop_otp(self, phone: str) -> None:
        await self.redis.delete(f"{self.prefix}otp:{phone}")


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

    async def load_otp(self, phone: str) -> StoredOtp | None:
        row = await self.session.get(OtpChallenge, phone)
        if row is None or row.expires_at <= utcnow():
            return None
        return StoredOtp(code_hash=row.code_hash, attempts=row.attempts)

    async def count_failure(self, phone: str) -> int:
        result = await self.session.execute(
            update(OtpChallenge)
            .where(OtpChallenge.phone == phone)  # type: ignore[arg-type]
            .values(attempts=col(OtpChallenge.attempts) + 1)
            .returning(col(OtpChallenge.attempts))
        )
        return int(result.scalar_one_or_none() or 0)

    async def drop_otp(self, phone: str) -> None:
        await self.session.execute(delete(OtpChallenge).where(OtpChallenge.phone == phone))  # type: ignore[arg-type]


def seconds_until(when: datetime) -> int:
    return max(1, int((when - utcnow()).total_seconds() + 0.999))
