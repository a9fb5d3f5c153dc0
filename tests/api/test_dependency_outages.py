"""Redis or PostgreSQL down: login answers 503 with Retry-After and the error body, and the very first
request after the dependency returns succeeds (a stale pooled connection is checked and retried once).

Each test stops a server of its own (tests/servers.py), never the shared ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services import migrations
from services.bootstrap import Resources, build_redis
from services.config import Settings
from services.db import create_engine, session_factory
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import factories as f
from tests.servers import PrivatePostgres, PrivateRedis

PASSWORD = "staff-password-123"


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) >= 1
    error = r.json()["error"]
    assert error["code"] == "dependency.unavailable"
    assert error["message"]
    assert error["details"]["retry_after"] == int(r.headers["Retry-After"])


@asynccontextmanager
async def _client(
    settings: Settings, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], runtime: Runtime
) -> AsyncIterator[tuple[httpx.AsyncClient, LogSmsProvider]]:
    assert isinstance(runtime.sms, LogSmsProvider)
    app = create_app(settings, Resources(engine=engine, sessionmaker=maker, runtime=runtime))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli.test") as client,
    ):
        yield client, runtime.sms


async def _kill_other_backends(side: AsyncEngine) -> int:
    """Terminate every client backend of the database but the caller's: the pool's idle connections."""
    async with side.connect() as probe:
        killed: int = (
            await probe.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"
                )
            )
        ).scalar_one()
    return killed


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_login_while_redis_is_down_and_right_after_it_returns(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    private_redis: PrivateRedis,
) -> None:
    staff = await f.user(db, password=PASSWORD)
    redis = build_redis(private_redis.url)
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None), redis=redis)
    try:
        async with _client(settings, engine, sessionmaker, runtime) as (client, sms):
            phone = f.phone()
            # Warm the pool: its connection goes stale when the server stops.
            assert (await client.post("/v1/auth/otp", json={"phone": phone})).status_code == 202

            private_redis.stop()
            _assert_unavailable(await client.post("/v1/auth/otp", json={"phone": f.phone()}))
            _assert_unavailable(await client.post("/v1/auth/login", json={"phone": phone, "code": "123456"}))
            _assert_unavailable(
                await client.post("/v1/auth/login", json={"phone": staff.phone, "password": PASSWORD})
            )

            await private_redis.start()  # same port, empty
            other = f.phone()
            r = await client.post("/v1/auth/otp", json={"phone": other})
            assert r.status_code == 202, r.text
            code = sms.last_code(r.json()["phone"])
            assert code is not None
            r = await client.post("/v1/auth/login", json={"phone": other, "code": code})
            assert r.status_code == 200, r.text

            private_redis.stop()
            await private_redis.start()
            r = await client.post("/v1/auth/login", json={"phone": staff.phone, "password": PASSWORD})
            assert r.status_code == 200, r.text
    finally:
        await redis.aclose()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.init()
    server.start()
    try:
        migrations.upgrade(server.url)
        yield server
    finally:
        server.stop(check=False)  # may already be stopped by a failed test
        server.remove()


async def test_login_while_postgres_is_down_and_right_after_it_returns(
    settings: Settings, private_postgres: PrivatePostgres
) -> None:
    settings = settings.model_copy(update={"database_url": private_postgres.url})
    engine = create_engine(private_postgres.url, pool_size=2)
    # No Redis: OTP challenges and rate-limit windows live in the database.
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None), redis=None)
    try:
        async with _client(settings, engine, session_factory(engine), runtime) as (client, sms):
            # Warm the pool with a few connections, all stale once the server restarts.
            sent = await asyncio.gather(
                *(client.post("/v1/auth/otp", json={"phone": f.phone()}) for _ in range(3))
            )
            assert [r.status_code for r in sent] == [202, 202, 202], [r.text for r in sent]

            private_postgres.stop()
            _assert_unavailable(await client.post("/v1/auth/otp", json={"phone": f.phone()}))
            _assert_unavailable(
                await client.post("/v1/auth/login", json={"phone": f.phone(), "code": "123456"})
            )

            private_postgres.start()
            phone = f.phone()
            r = await client.post("/v1/auth/otp", json={"phone": phone})
            assert r.status_code == 202, r.text
            code = sms.last_code(r.json()["phone"])
            assert code is not None
            r = await client.post("/v1/auth/login", json={"phone": phone, "code": code})
            assert r.status_code == 200, r.text
    finally:
        await engine.dispose()


async def test_a_request_in_flight_when_postgres_stops_answers_503(
    settings: Settings, private_postgres: PrivatePostgres
) -> None:
    settings = settings.model_copy(update={"database_url": private_postgres.url})
    engine = create_engine(private_postgres.url, pool_size=2)
    side = create_engine(private_postgres.url, pool_size=2)
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None), redis=None)
    try:
        async with _client(settings, engine, session_factory(engine), runtime) as (client, _sms):
            # Hold the OTP table, so the OTP request waits inside its transaction for the lock.
            locker = await side.connect()
            await locker.begin()
            await locker.execute(sa.text("LOCK TABLE otp_challenge IN ACCESS EXCLUSIVE MODE"))
            in_flight = asyncio.create_task(client.post("/v1/auth/otp", json={"phone": f.phone()}))
            async with side.connect() as probe:
                waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                for _ in range(400):
                    seen = (await probe.execute(waiting)).scalar_one()
                    await probe.rollback()  # pg_stat_activity is a snapshot kept for the transaction
                    if seen:
                        break
                    await asyncio.sleep(0.025)
                else:
                    done = in_flight.done() and (await in_flight).text
                    raise AssertionError(f"the request never waited for the lock: {done}")
            private_postgres.stop()  # fast shutdown: terminates the waiting backend
            _assert_unavailable(await in_flight)
            with contextlib.suppress(Exception):
                await locker.close()

            private_postgres.start()
            r = await client.post("/v1/auth/otp", json={"phone": f.phone()})
            assert r.status_code == 202, r.text
    finally:
        await engine.dispose()
        await side.dispose()


async def test_connections_killed_behind_the_pool_are_replaced_on_first_use(
    settings: Settings, private_postgres: PrivatePostgres
) -> None:
    # No pre-ping: a pooled connection whose backend died (restart, pg_terminate_backend, a
    # failover) fails its transaction's first statement, which services.db runs again on a fresh
    # connection, so no request sees the dead connection.
    settings = settings.model_copy(update={"database_url": private_postgres.url})
    engine = create_engine(private_postgres.url, pool_size=2)
    side = create_engine(private_postgres.url, pool_size=1)
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None), redis=None)
    try:
        async with _client(settings, engine, session_factory(engine), runtime) as (client, _sms):
            sent = await asyncio.gather(
                *(client.post("/v1/auth/otp", json={"phone": f.phone()}) for _ in range(2))
            )
            assert [r.status_code for r in sent] == [202, 202], [r.text for r in sent]
            killed = await _kill_other_backends(side)
            assert killed >= 1  # the pool's idle connections
            for _ in range(3):
                r = await client.post("/v1/auth/otp", json={"phone": f.phone()})
                assert r.status_code == 202, r.text
    finally:
        await engine.dispose()
        await side.dispose()


async def test_an_authenticated_read_outlives_killed_connections_and_answers_503_while_postgres_is_down(
    settings: Settings, private_postgres: PrivatePostgres
) -> None:
    # The principal and /v1/me's households are read on the driver (services.driver_sql), past
    # RetryingSession: the same first-statement retry and the same 503 must hold there.
    settings = settings.model_copy(update={"database_url": private_postgres.url})
    engine = create_engine(private_postgres.url, pool_size=2)
    side = create_engine(private_postgres.url, pool_size=1)
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None), redis=None)
    try:
        async with _client(settings, engine, session_factory(engine), runtime) as (client, sms):
            r = await client.post("/v1/auth/otp", json={"phone": f.phone()})
            assert r.status_code == 202, r.text
            code = sms.last_code(r.json()["phone"])
            r = await client.post("/v1/auth/login", json={"phone": r.json()["phone"], "code": code})
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            warm = await asyncio.gather(*(client.get("/v1/me", headers=headers) for _ in range(2)))
            assert [r.status_code for r in warm] == [200, 200], [r.text for r in warm]
            killed = await _kill_other_backends(side)
            assert killed >= 1
            for _ in range(3):
                r = await client.get("/v1/me", headers=headers)
                assert r.status_code == 200, r.text
                assert r.json()["id"] == warm[0].json()["id"]

            private_postgres.stop()
            _assert_unavailable(await client.get("/v1/me", headers=headers))
            private_postgres.start()
            r = await client.get("/v1/me", headers=headers)
            assert r.status_code == 200, r.text
    finally:
        await engine.dispose()
        await side.dispose()
