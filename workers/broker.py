"""The taskiq broker: Redis Streams in production, in-memory in the embedded default.

The broker only carries wake-ups ("these delivery ids are ready"). Retries, backoff and dead letters
live in the delivery rows, so a lost message costs a sweeper interval, never a notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, AsyncBroker, BrokerMessage, Context, InMemoryBroker, TaskiqDepends
from taskiq_redis import RedisStreamBroker

from services.bootstrap import Resources
from services.config import Settings
from workers.channels.push import PushChannel
from workers.channels.registry import PushRegistry
from workers.outage import Outage
from workers.tasks.deliveries import DrainStats, drain_once

log = logging.getLogger("linli.broker")
DELIVER = "linli.deliver"
QUEUE = "linli:deliveries"
# Longest wait between two attempts to reach a Redis that went away: the worker notices its return
# at most this late, and a dead Redis costs one refused connection per worker per this many seconds.
REDIS_BACKOFF_CAP = 10.0


@dataclass
class WorkerState:
    resources: Resources
    push: PushChannel | PushRegistry  # a registry picks the channel (and lane) per provider
    totals: DrainStats = field(default_factory=DrainStats)
    # Set when the worker is asked to stop: drains claim nothing more and start no new sends.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    running: set[asyncio.Task[object]] = field(default_factory=set)  # drains in progress


async def deliver(delivery_ids: list[int], context: Context = TaskiqDepends()) -> int:
    """Claim the listed deliveries that are still due and send them; others were done elsewhere."""
    state: WorkerState = context.state.linli
    task = asyncio.current_task()
    if task is not None:
        state.running.add(task)
    try:
        stats = await drain_once(state.resources, state.push, ids=delivery_ids, stopping=state.stopping)
    finally:
        if task is not None:
            state.running.discard(task)
    state.totals.claimed += stats.claimed
    state.totals.sent += stats.sent
    return stats.sent


class StreamBroker(RedisStreamBroker):
    """Redis Streams broker that waits out a Redis outage and survives Redis coming back empty.

    - Redis unreachable: taskiq's receiver would restart its listener at once, forever (a core busy
      and a traceback per try); here listen() backs off with jitter up to REDIS_BACKOFF_CAP, probing
      with PING, and logs one WARNING when Redis goes and one INFO when it is back.
    - Restart without persistence, failover, FLUSHALL: on NOGROUP it re-creates the consumer group
      instead of failing forever."""

    _sender: Redis | None = None

    async def kick(self, message: BrokerMessage) -> None:
        """taskiq-redis's kick, on one client of the broker's pool: it built a Redis client per
        message (0.21 ms of CPU per kick, 0.11 ms with one client; measured 2026-12-06, issue 17)."""
        if self._sender is None:
            self._sender = Redis(connection_pool=self.connection_pool)
        await self._sender.xadd(
            message.labels.get("queue_name") or self.queue_name,
            {b"data": message.message},
            maxlen=self.maxlen,
            approximate=self.approximate,
        )

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        outage = Outage(log, f"Redis ({self.queue_name})", cap=REDIS_BACKOFF_CAP)
        declare = False
        while True:
            try:
                if outage.down:
                    async with Redis(connection_pool=self.connection_pool) as conn:
                        await conn.ping()
                    outage.recovered()
                if declare:
                    await self._declare_consumer_group()
                    declare = False
                async for message in super().listen():
                    yield message
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("consumer group lost (%s); declaring it again", exc)
                declare = True
                await asyncio.sleep(0.5)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                await asyncio.sleep(outage.failed(exc))

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        ack = super()._ack_generator(id=id, queue_name=queue_name)

        async def quiet_ack() -> None:
            try:
                await ack()
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Redis away (listen() already said so): the message stays pending and is claimed
                # again later; its rows are recorded, so that run finds nothing due.
                log.debug("ack of %s failed: %s", id, exc)

        return quiet_ack


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
