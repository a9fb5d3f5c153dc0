"""The outbox pipeline with committed rows: relay → broker → worker, and the sweeper when the
broker was unreachable at commit time. Uses real connections (not the rolled-back test transaction),
so it cleans up the rows it made."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from services.bootstrap import Resources
from services.models import Delivery, Device
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify
from tests import factories as f
from workers.broker import WorkerState, attach, make_broker
from workers.channels.push import LogPushChannel
from workers.embedded import background
from workers.runner import sweep_deliveries

register_templates({"test.pipe": (("通知", "第 {n} 条"), ("Notice", "Number {n}"))})


async def _user_with_device(resources: Resources, token: str) -> int:
    async with resources.unit() as session:
        u = await f.user(session)
        assert u.id is not None
        session.add(Device(user_id=u.id, token=token, platform="android"))
    resources.made_users.append(u.id)  # type: ignore[attr-defined]
    return u.id


async def _statuses(resources: Resources, user_id: int) -> list[str]:
    async with resources.sessionmaker() as session:
        return list((await session.exec(select(Delivery.status).where(Delivery.user_id == user_id))).all())


async def _wait_for(resources: Resources, user_id: int, want: list[str], seconds: float = 5.0) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        got = await _statuses(resources, user_id)
        if got == want or loop.time() > deadline:
            return got
        await asyncio.sleep(0.05)


async def test_embedded_relay_sends_right_after_commit(committed: Resources) -> None:
    user_id = await _user_with_device(committed, "pipe-token-aaaaaaaaaaaaaaaaaaaa")
    async with background(committed, embedded=True):
        async with committed.unit() as session:
            await notify(session, [user_id], "ticket", "test.pipe", {"n": 1}, "pipe:1")
        # Well inside the scheduler's 5 s sweep: only the relay can have sent it this fast.
        assert await _wait_for(committed, user_id, ["sent"], seconds=2.0) == ["sent"]


async def test_rolled_back_transaction_relays_nothing(committed: Resources) -> None:
    user_id = await _user_with_device(committed, "pipe-token-bbbbbbbbbbbbbbbbbbbb")
    kicked: list[list[int]] = []

    async def record(ids: list[int]) -> None:
        kicked.append(ids)

    committed.runtime.relay = record
    with pytest.raises(RuntimeError):
        async with committed.unit() as session:
            await notify(session, [user_id], "ticket", "test.pipe", {"n": 2}, "pipe:2")
            raise RuntimeError("the state change failed")
    assert kicked == []
    assert await _statuses(committed, user_id) == []


async def test_broker_down_at_commit_then_sweeper_delivers(committed: Resources) -> None:
    user_id = await _user_with_device(committed, "pipe-token-cccccccccccccccccccc")

    async def broker_down(ids: list[int]) -> None:
        raise ConnectionError("Redis is stopped")

    committed.runtime.relay = broker_down
    async with committed.unit() as session:  # commits although the relay fails
        await notify(session, [user_id], "ticket", "test.pipe", {"n": 3}, "pipe:3")
    assert await _statuses(committed, user_id) == ["pending"]

    # The broker is back: the sweeper finds the row (after the relay's grace period) and re-queues it.
    async with committed.unit() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.user_id == user_id))).all()
        for row in rows:
            row.next_attempt_at = row.next_attempt_at.replace(year=row.next_attempt_at.year - 1)
            session.add(row)
    broker = make_broker(committed.runtime.settings)
    push = LogPushChannel()
    attach(broker, WorkerState(resources=committed, push=push))
    await broker.startup()
    try:
        assert await sweep_deliveries(committed, broker) >= 1
        await broker.wait_all()  # type: ignore[attr-defined]
    finally:
        await broker.shutdown()
    assert await _statuses(committed, user_id) == ["sent"]
    assert [p.token for p in push.sent] == ["pipe-token-cccccccccccccccccccc"]
