"""Shared worker-test fixtures: the loopback FCM stand-in and one long-lived channel on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete

from services.bootstrap import Resources
from services.config import Settings
from services.db import session_factory
from services.models import Delivery, Device, Notification, User
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests.workers.fcm_standin import FcmStandIn
from workers.channels.fcm import FcmChannel

PROJECT = "linli-test"
TOKEN = "staging-bearer-123"


@pytest.fixture(scope="session")
def standin() -> Iterator[FcmStandIn]:
    with FcmStandIn(project=PROJECT) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_standin(standin: FcmStandIn) -> None:
    standin.reset()


@pytest.fixture(scope="session")
async def channel(standin: FcmStandIn) -> AsyncIterator[FcmChannel]:
    """One channel for the whole session, like one per worker process."""
    settings = Settings(
        env="test",
        fcm_base_url=standin.base_url,
        fcm_project_id=PROJECT,
        fcm_credentials=f"static:{TOKEN}",
        # Generous: over plain-HTTP/1.1 loopback, 500 concurrent sends queue on httpx's 100-connection
        # pool, whose pool wait counts against this timeout (real FCM is HTTP/2: one connection).
        fcm_timeout_seconds=60,
    )
    ch = FcmChannel(settings)  # as workers.runner builds it
    yield ch
    await ch.aclose()


@pytest.fixture
async def committed(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Resources]:
    """Resources on real connections, no relay; deletes the users it made (and their rows) after."""
    resources = Resources(
        engine=engine,
        sessionmaker=session_factory(engine),
        runtime=Runtime(settings=settings.model_copy(update={"redis_url": None}), sms=LogSmsProvider(None)),
    )
    made: list[int] = []
    resources.made_users = made  # type: ignore[attr-defined]
    yield resources
    for start in range(0, len(made), 500):
        chunk = made[start : start + 500]
        async with resources.sessionmaker() as session, session.begin():
            for stmt in (
                delete(Delivery).where(col(Delivery.user_id).in_(chunk)),
                delete(Notification).where(col(Notification.user_id).in_(chunk)),
                delete(Device).where(col(Device.user_id).in_(chunk)),
                delete(User).where(col(User.id).in_(chunk)),
            ):
                await session.execute(stmt)
