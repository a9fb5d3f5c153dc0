"""Shared worker-test fixtures: the loopback FCM stand-in and one long-lived channel on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from services.config import Settings
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
