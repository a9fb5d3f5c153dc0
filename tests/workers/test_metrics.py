"""Worker / scheduler metrics: delivery outcomes by channel, queue depth and age, served on loopback."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.config import Settings
from services.notifications.metrics import DELIVERIES, QUEUE_AGE, QUEUE_DEPTH, observe_queue
from services.notifications.outbox import notify
from tests import factories as f
from tests.conftest import App
from tests.servers import free_port
from tests.workers.test_delivery_queue import _device, drain_deliveries
from workers.channels.push import LogPushChannel
from workers.metrics import serve_metrics

pytestmark = pytest.mark.calendar


async def test_queue_depth_age_and_outcomes(
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: App,
    frozen_clock: time_machine.Coordinates,
) -> None:
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    u = await f.user(db)
    await _device(db, u.id or 0, "tok-3333333333333333333333")
    await notify(db, [u.id or 0], "ticket", "test.queue", {"n": 1}, "m:1")
    await db.commit()
    frozen_clock.shift(timedelta(seconds=90))
    await observe_queue(db)
    assert QUEUE_DEPTH._value.get() == 1  # one push to the one device, due since 90 s
    assert 90 <= QUEUE_AGE._value.get() < 120
    before = DELIVERIES.labels("push", "sent")._value.get()
    assert await drain_deliveries(resources, LogPushChannel()) == 1
    assert DELIVERIES.labels("push", "sent")._value.get() - before == 1
    await observe_queue(db)
    assert (QUEUE_DEPTH._value.get(), QUEUE_AGE._value.get()) == (0, 0.0)


def test_metrics_server_is_off_by_default_and_loopback_when_on(settings: Settings) -> None:
    serve_metrics(settings)  # no port: nothing listens (and nothing to assert but no error)
    port = free_port()  # not a fixed one: .ci/run runs two suites at once
    on = settings.model_copy(update={"metrics_port": port})
    assert on.metrics_host == "127.0.0.1"
    serve_metrics(on)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
    assert "linli_delivery_queue_depth" in body and "linli_deliveries_total" in body
