"""Rate limits (logins, OTPs, the alarm doors): a moving window from the `limits` library, on Redis when configured, else in memory.

A moving window counts the events of the last `window` seconds, so a client cannot fit twice the limit
into two adjacent fixed windows (the old INCR + EXPIRE window let `limit` events through at 0:59 and
another `limit` at 1:00). The embedded default is one process, so memory is enough there; with Redis
every API replica shares the same windows."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter

if TYPE_CHECKING:
    from services.runtime import Runtime

PREFIX = "linli:rl"


class LoginLimiter:
    def __init__(self, storage: MemoryStorage | RedisStorage) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one event; return seconds to wait when the last window_seconds already hold `limit`."""
        item = RateLimitItemPerSecond(limit, window_seconds)
        if await self.limiter.hit(item, key):
            return None
        reset_at, _ = await self.limiter.get_window_stats(item, key)
        return max(1, math.ceil(reset_at - time.time()))

    async def wait(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Seconds to wait when the last window_seconds already hold `limit` events; counts nothing."""
        item = RateLimitItemPerSecond(limit, window_seconds)
        if await self.limiter.test(item, key):
            return None
        reset_at, _ = await self.limiter.get_window_stats(item, key)
        return max(1, math.ceil(reset_at - time.time()))

    async def refund(self, key: str, limit: int, window_seconds: int) -> None:
        """Give back the newest event counted by hit() (the attempt succeeded, so it was no failure).

        `limits` has no decrement, so this removes the newest entry of the window it keeps: a list,
        newest first, both in memory and in Redis (LPUSH + LTRIM). Pinned version; tests cover both."""
        name = RateLimitItemPerSecond(limit, window_seconds).key_for(key)
        if isinstance(self.storage, MemoryStorage):
            events = self.storage.events.get(name)
            if events and events[0].expiry > time.time():
                events.pop(0)
            return
        bridge = self.storage.bridge
        assert isinstance(bridge, RedispyBridge)  # login_limiter() builds it with implementation="redispy"
        await bridge.get_connection().lpop(bridge.prefixed_key(name))  # type: ignore[attr-defined]


def login_limiter(runtime: Runtime) -> LoginLimiter:
    """One limiter per runtime (per process): the Redis one shares the runtime's connection pool."""
    if runtime.login_limiter is None:
        if runtime.redis is not None:
            storage: MemoryStorage | RedisStorage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=PREFIX,
                connection_pool=runtime.redis.connection_pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        runtime.login_limiter = LoginLimiter(storage)
    limiter: LoginLimiter = runtime.login_limiter
    return limiter
