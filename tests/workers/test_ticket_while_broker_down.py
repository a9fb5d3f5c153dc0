"""Redis (the broker) is down while a resident files a ticket: the ticket and its notifications are
saved in one transaction, the request succeeds, and the deliveries go out once the broker is back."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import Delivery, Device, Notification, Ticket
from tests import factories as f
from tests.conftest import App
from workers.broker import WorkerState, attach, make_broker
from workers.channels.push import LogPushChannel
from workers.runner import sweep_deliveries


async def test_ticket_filed_while_broker_down_is_delivered_after_it_returns(
    app: App,
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    w = await f.ticket_world(db)
    db.add(Device(user_id=w.manager.id or 0, token="manager-phone-token-000000000", platform="android"))
    await db.flush()
    attempts: list[list[int]] = []

    async def redis_stopped(ids: list[int]) -> None:
        attempts.append(ids)
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    app.runtime.relay = redis_stopped
    ticket = await f.file_ticket(client, w)  # asserts 201 itself
    assert attempts, "the relay was tried after the commit"

    assert (await db.exec(select(Ticket).where(Ticket.id == ticket["id"]))).one() is not None
    inbox = (await db.exec(select(Notification).where(Notification.user_id == w.manager.id))).all()
    assert [n.data["template"] for n in inbox] == ["ticket.created"]
    rows = (await db.exec(select(Delivery).where(col(Delivery.id).in_(attempts[0])))).all()
    assert [(d.status, d.channel) for d in rows] == [("pending", "push")]

    # The broker is back. Once the relay's grace period has passed, the sweeper re-queues the row.
    for d in rows:
        d.next_attempt_at -= timedelta(minutes=1)
        db.add(d)
    await db.commit()
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    broker = make_broker(app.settings.model_copy(update={"redis_url": None}))
    push = LogPushChannel()
    attach(broker, WorkerState(resources=resources, push=push))
    await broker.startup()
    try:
        assert await sweep_deliveries(resources, broker) == 1
        await broker.wait_all()  # type: ignore[attr-defined]
    finally:
        await broker.shutdown()
    for d in rows:
        await db.refresh(d)
    assert [d.status for d in rows] == ["sent"]
    assert [p.token for p in push.sent] == ["manager-phone-token-000000000"]
