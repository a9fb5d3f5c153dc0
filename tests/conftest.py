"""Test harness: the database is built by running the Alembic migrations once per session; each test
runs inside one outer transaction that is rolled back, and talks to the app over httpx.ASGITransport.

SQLite by default; PostgreSQL and Redis when LINLI_TEST_DATABASE_URL / LINLI_TEST_REDIS_URL are set.
With LINLI_REQUIRE_SERVICES=1 a missing or unreachable service fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import time_machine
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services import migrations
from services.bootstrap import Resources
from services.config import Settings
from services.db import create_engine
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import clock

DB_URL = os.environ.get("LINLI_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("LINLI_TEST_REDIS_URL")
REQUIRE = os.environ.get("LINLI_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Coordinates | None]:
    """Every test starts at tests.clock.START and time flows on from there (`tick`), so orderings and
    timeouts behave. A test written around a fixed history names its instant with `@pytest.mark.at(...)`;
    tests that drive other processes (which keep the machine's clock) opt out with
    `@pytest.mark.real_clock`."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    pinned = request.node.get_closest_marker("at")
    start = clock.parse(pinned.args[0]) if pinned else clock.START
    with time_machine.travel(start, tick=True) as traveller:
        yield traveller


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"LINLI_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    async def reset() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(sa.text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    asyncio.run(reset())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if REQUIRE and not (DB_URL and REDIS_URL):
        _unavailable("LINLI_TEST_DATABASE_URL and LINLI_TEST_REDIS_URL must both be set")
    if DB_URL:
        try:
            _reset_postgres(DB_URL)
        except OSError as exc:
            _unavailable(f"test database unreachable: {exc}")
        url = DB_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    # Up, down and up again: every run proves the migrations reverse cleanly on this engine.
    migrations.upgrade(url)
    migrations.downgrade(url, "base")
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        redis_url=REDIS_URL,
        jwt_secret="test-secret-" + "x" * 40,  # type: ignore[arg-type]
        embedded_worker=False,
        var_dir=tmp_path_factory.mktemp("var"),
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(settings.database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        # The rolled-back outer transaction must not hold SQLite's write lock for the whole test:
        # tests that commit through other connections (races, worker processes) need it.
        await conn.execution_options(sqlite_begin="DEFERRED")
        outer = await conn.begin()
        yield conn
        await outer.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Every "commit" inside a test only releases a savepoint; the outer rollback undoes it all.
    return async_sessionmaker(
        bind=connection,
        class_=AsyncSession,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def db(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def redis() -> AsyncIterator[Redis | None]:
    if not REDIS_URL:
        yield None
        return
    client = Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        await client.flushdb()
    except OSError as exc:
        await client.aclose()
        _unavailable(f"test Redis unreachable: {exc}")
    yield client
    await client.flushdb()
    await client.aclose()


@dataclass
class App:
    client: httpx.AsyncClient
    runtime: Runtime
    sms: LogSmsProvider
    settings: Settings


@pytest.fixture
async def app(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis | None,
) -> AsyncIterator[App]:
    sms = LogSmsProvider(outbox_path=None)
    runtime = Runtime(settings=settings, sms=sms, redis=redis)
    application = create_app(settings, Resources(engine=engine, sessionmaker=sessionmaker, runtime=runtime))
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://linli.test") as client,
    ):
        yield App(client=client, runtime=runtime, sms=sms, settings=settings)


@asynccontextmanager
async def committed_client(
    settings: Settings, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over sessions that really commit (races between requests), not the test's rolled-back
    transaction; the caller cleans up what it committed."""
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
    application = create_app(settings, Resources(engine=engine, sessionmaker=maker, runtime=runtime))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://linli.test") as c,
    ):
        yield c


@pytest.fixture
def client(app: App) -> httpx.AsyncClient:
    return app.client


@pytest.fixture(scope="session")
def project_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parent.parent


def pytest_report_header() -> str:
    return f"linli test clock starts at {clock.START.isoformat()} (LINLI_TEST_NOW)"
