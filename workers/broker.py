"""The taskiq broker: Redis Streams in production, in-memory in the embedded default.

The broker only carries wake-ups ("these delivery ids are ready"). Retries, backoff and dead letters
live in the delivery rows, so a lost message costs a sweeper interval, never a notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from redis.exceptions import ResponseError
from taskiq import AckableMessage, AsyncBroker, Context, InMemoryBroker, TaskiqDepends
from taskiq_redis import RedisStreamBroker

from services.bootstrap import Resources
from services.config import Settings
from workers.channels.push import PushChannel
from workers.tasks.deliveries import DrainStats, drain_once

log = logging.getLogger("linli.broker")
DELIVER = "linli.deliver"
QUEUE = "linli:deliveries"


@dataclass
class WorkerState:
    resources: Resources
    push: PushChannel
    totals: DrainStats = field(default_factory=DrainStats)


async def deliver(delivery_ids: list[int], context: Context = TaskiqDepends()) -> int:
    """Claim the listed deliveries that are still due and send them; others were done elsewhere."""
    state: WorkerState = context.state.linli
    stats = await drain_once(state.resources, state.push, ids=delivery_ids)
    state.totals.claimed += stats.claimed
    state.totals.sent += stats.sent
    return stats.sent


class StreamBroker(RedisStreamBroker):
    """Redis Streams broker that survives Redis coming back empty (restart without persistence,
    failover, FLUSHALL): on NOGROUP it re-creates the consumer group instead of failing forever."""

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            try:
                async for message in super().listen():
                    yield message
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("consumer group lost (%s); declaring it again", exc)
                await self._declare_consumer_group()
                await asyncio.sleep(0.5)


def make_broker(settings: Settings) -> AsyncBroker:
    broker: AsyncBroker
    if settings.redis_url:
        broker = StreamBroker(
            settings.redis_url,
            queue_name=QUEUE,
            consumer_group_name="linli-workers",
            xread_block=1000,
            # A killed worker's unacknowledged messages are claimed by another after this long.
            unacknowledged_lock_timeout=60,
            idle_timeout=60_000,
            maxlen=1_000_000,
        )
    else:
        broker = InMemoryBroker()
    broker.register_task(deliver, task_name=DELIVER)
    return broker


def attach(broker: AsyncBroker, state: WorkerState) -> None:
    """Give tasks in this process their resources and push channel."""
    broker.state.linli = state


async def kick(broker: AsyncBroker, delivery_ids: list[int]) -> None:
    task = broker.find_task(DELIVER)
    assert task is not None
    await task.kiq(delivery_ids)
