"""Build the runtime (engine, Redis, channels) from settings; shared by the API, workers and CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import Settings
from services.db import create_engine, session_factory, transaction
from services.notifications import relay
from services.notifications.sms import LogSmsProvider, SmsProvider
from services.runtime import Runtime


@dataclass
class Resources:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    runtime: Runtime
    # Sessions for requests that only read (GET, HEAD). On SQLite they BEGIN DEFERRED, so readers do
    # not queue for the write lock behind writers. On PostgreSQL they run in autocommit: no BEGIN and
    # COMMIT round trips (a fifth of a light read's CPU), and under READ COMMITTED every statement
    # had its own snapshot anyway. The one write a read makes inline there (the audited read's
    # INSERT, services/privacy/reads.py) commits at once. Tests: the same sessionmaker.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """A job's unit of work: one transaction, then new deliveries go to the relay."""
        async with self.sessionmaker() as session:
            async with transaction(session):
                yield session
            await relay.after_commit(session, self.runtime)

    async def close(self) -> None:
        if self.runtime.redis is not None:
            await self.runtime.redis.aclose()
        await self.engine.dispose()


def build_sms(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "log":
        return LogSmsProvider(outbox_path=settings.sms_outbox)
    if settings.sms_provider == "aliyun":
        from services.notifications.sms_aliyun import AliyunSmsProvider

        return AliyunSmsProvider.from_settings(settings)
    raise NotImplementedError(f"SMS provider {settings.sms_provider!r} is not supported")


def build_redis(url: str) -> Redis:
    """A client whose pooled connections survive a Redis restart: a command that meets a dead
    connection reconnects and runs again once (from_url alone retries nothing), and a connection
    idle for 30 s is pinged before use. While Redis is down, calls fail fast (services.outages: 503)."""
    return Redis.from_url(
        url,
        socket_timeout=3,
        socket_connect_timeout=1,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )


def build_resources(settings: Settings, engine: AsyncEngine | None = None) -> Resources:
    engine = engine or create_engine(
        settings.database_url, pool_size=settings.db_pool_size, parallel_workers=settings.db_parallel_workers
    )
    redis = build_redis(settings.redis_url) if settings.redis_url else None
    runtime = Runtime(settings=settings, sms=build_sms(settings), redis=redis)
    reads = None
    if engine.dialect.name == "sqlite":
        reads = session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
    elif engine.dialect.name == "postgresql":
        reads = session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
    return Resources(
        engine=engine, sessionmaker=session_factory(engine), runtime=runtime, read_sessionmaker=reads
    )
