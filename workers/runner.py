"""Processes: the scheduler (periodic jobs + the delivery sweeper) and the worker (consumes the broker).

`linli scheduler` runs one scheduler; `linli worker` runs a worker; the embedded default runs both
inside the API process with the in-memory broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.receiver import Receiver

from services.bootstrap import Resources
from services.notifications import deliveries as q
from services.notifications.devices import prune_stale
from services.notifications.metrics import JOB_RUNS, observe_queue
from workers import jobs
from workers.broker import WorkerState, attach, kick
from workers.channels.push import LogPushChannel, PushChannel
from workers.channels.registry import build_registry
from workers.jobs import LocalFanouts
from workers.outage import Outage
from workers.tasks import accounts as account_tasks
from workers.tasks import alarm_presence, map_stats
from workers.tasks import duty as duty_tasks
from workers.tasks import kpis as kpi_tasks
from workers.tasks import notices as notice_tasks
from workers.tasks import polls as poll_tasks
from workers.tasks import privacy as privacy_tasks
from workers.tasks import retention as retention_tasks
from workers.tasks import sla as sla_tasks

log = logging.getLogger("linli.worker")
SWEEP_BATCH = 500


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[Resources], Awaitable[object]]


async def _prune_devices(resources: Resources) -> int:
    async with resources.unit() as session:
        return await prune_stale(session)


JOBS: list[PeriodicJob] = [
    PeriodicJob("purge_expired_login_state", 300, jobs.purge_expired_login_state),
    PeriodicJob("prune_stale_devices", 6 * 3600, _prune_devices),
    PeriodicJob("run_fanouts", 2, jobs.run_fanouts),
    PeriodicJob("sweep_sla", 60, sla_tasks.sweep_sla),
    PeriodicJob("auto_close_resolved", 600, sla_tasks.auto_close_resolved),
    PeriodicJob("remind_shifts", 60, duty_tasks.remind_shifts),
    PeriodicJob("mark_missed_shifts", 60, duty_tasks.mark_missed_shifts),
    PeriodicJob("close_finished_shifts", 300, duty_tasks.close_finished_shifts),
    PeriodicJob("publish_due_notices", 30, notice_tasks.publish_due),
    PeriodicJob("close_publicity_windows", 60, notice_tasks.close_windows),
    PeriodicJob("expire_notices", 60, notice_tasks.expire_notices),
    PeriodicJob("announce_polls", 60, poll_tasks.announce_polls),
    PeriodicJob("close_polls", 60, poll_tasks.close_polls),
    PeriodicJob("rollup_kpis", 300, kpi_tasks.rollup_kpis),
    PeriodicJob("refresh_map_stats", map_stats.EVERY, map_stats.refresh_map_stats),
    PeriodicJob("sms_for_unread_critical", 60, jobs.sms_for_unread_critical),
    PeriodicJob("sweep_device_presence", 30, alarm_presence.sweep_presence),
    PeriodicJob("enforce_retention", 3600, retention_tasks.enforce_retention),
    PeriodicJob("build_privacy_exports", 10, privacy_tasks.build_privacy_exports),
    PeriodicJob("sweep_alarm_escalations", 30, alarm_presence.sweep_escalations),
    PeriodicJob("erase_deleted_accounts", 600, account_tasks.erase_deleted_accounts),
]


def build_push_channel(resources: Resources) -> PushChannel:
    """The FCM channel alone (benchmarks); workers use `build_registry` (every provider)."""
    settings = resources.runtime.settings
    if settings.fcm_credentials:
        from workers.channels.fcm import FcmChannel

        channel: PushChannel = FcmChannel(settings)
        return channel
    return LogPushChannel()


async def sweep_deliveries(resources: Resources, broker: AsyncBroker) -> int:
    """Re-queue what the relay missed (broker down), failed rows now due, and expired claims."""
    grace = timedelta(seconds=resources.runtime.settings.relay_grace_seconds)
    total = 0
    last: int | None = None
    while True:
        async with resources.sessionmaker() as session:
            ids = await q.due_ids(session, SWEEP_BATCH, grace=grace, after_id=last)
        if not ids:
            return total
        for start in range(0, len(ids), SWEEP_BATCH):
            await kick(broker, ids[start : start + SWEEP_BATCH])
        total += len(ids)
        last = ids[-1]
        if len(ids) < SWEEP_BATCH:
            return total


async def run_scheduler(
    resources: Resources, broker: AsyncBroker, stop: asyncio.Event, sweep_every: float | None = None
) -> None:
    if sweep_every is None:
        sweep_every = resources.runtime.settings.delivery_sweep_seconds
    # What the jobs commit goes on at once (a due notice's fan-out is expanded here, its deliveries and
    # those of SLA and duty notifications are kicked), not after a sweep or the relay's grace period.
    if resources.runtime.relay is None:
        resources.runtime.relay = partial(kick, broker)
    fanouts = None
    if resources.runtime.fanout_relay is None:
        fanouts = LocalFanouts(resources)
        resources.runtime.fanout_relay = fanouts
    loop = asyncio.get_running_loop()
    due = {job.name: loop.time() for job in JOBS}
    log.info("scheduler started: sweeper every %gs and %d periodic jobs", sweep_every, len(JOBS))
    swept = Outage(log, "delivery sweep (Redis or the database)", cap=sweep_every)
    while not stop.is_set():
        try:
            await sweep_deliveries(resources, broker)
            async with resources.sessionmaker() as session:
                await observe_queue(session)
            swept.recovered()
        except Exception as exc:
            # Redis away: nothing is lost, the rows wait in the database for the next sweep (one log
            # line when it starts failing, one when it works again).
            swept.failed(exc)
        for job in JOBS:
            if loop.time() < due[job.name]:
                continue
            due[job.name] = loop.time() + job.every_seconds
            try:
                result = await job.run(resources)
                log.debug("job %s done: %s", job.name, result)
                JOB_RUNS.labels(job.name, "ok").inc()
            except Exception:
                # A failing job must not stop the others; it runs again at its next turn.
                log.exception("job %s failed", job.name)
                JOB_RUNS.labels(job.name, "failed").inc()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=sweep_every)
    if fanouts is not None:
        await fanouts.close()
    log.info("scheduler stopped")


async def _receive(
    broker: AsyncBroker, executor: ThreadPoolExecutor, finish: asyncio.Event, grace: float
) -> None:
    """taskiq's receiver until `finish` is set; if it fails, a new one after a backoff (taskiq's own
    run_receiver_task restarts at once, forever: a busy loop and a traceback per turn)."""
    outage = Outage(log, "delivery receiver")
    while not finish.is_set():
        listener = Receiver(broker, executor, run_startup=False, max_async_tasks=4, wait_tasks_timeout=grace)
        try:
            await listener.listen(finish)
            return
        except Exception as exc:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finish.wait(), timeout=outage.failed(exc))


async def run_worker(resources: Resources, broker: AsyncBroker, stop: asyncio.Event) -> None:
    """Consume delivery wake-ups until stopped. One push channel (and event loop) per process.

    Stopping is graceful within `worker_shutdown_grace_seconds`: no new message is read, drains claim
    nothing more and start no new sends, claims not yet sent are released at once, and the sends in
    flight are answered and recorded. Only what is still waiting for the provider after the grace
    period is cut off (its claim is released and it is retried: it may arrive twice)."""
    registry = build_registry(resources.runtime.settings)
    log.info("push channels: %s", registry.describe())
    state = WorkerState(resources=resources, push=registry)
    attach(broker, state)
    # The in-memory broker runs each kicked task itself; only a real broker needs a receiver.
    in_memory = isinstance(broker, InMemoryBroker)
    broker.is_worker_process = not in_memory
    await broker.startup()
    grace = resources.runtime.settings.worker_shutdown_grace_seconds
    finish = asyncio.Event()  # tells the receiver to stop reading and wait for its tasks
    receiver = None
    executor = ThreadPoolExecutor(max_workers=1)  # taskiq runs sync tasks there; ours are async
    if not in_memory:
        receiver = asyncio.create_task(_receive(broker, executor, finish, grace), name="delivery-receiver")
    log.info("worker started (%s)", type(broker).__name__)
    try:
        await stop.wait()
    finally:
        state.stopping.set()
        finish.set()
        # The broker's drains and the lanes' follow-up drains (workers.tasks.deliveries).
        running = set(state.running) | set(registry.followups)
        log.info("worker stopping: %d batches in flight, %gs grace", len(running), grace)
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:  # cut off after the grace period: their claims are released
                task.cancel()
            if late:
                log.warning("%d batches cut off after %gs", len(late), grace)
                await asyncio.wait(late, timeout=5)
        if receiver is not None:
            try:
                await asyncio.wait_for(receiver, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                pass
            except Exception as exc:  # the broker went away while stopping: nothing left to hand off
                log.warning("receiver stopped with %s", exc)
        if isinstance(broker, InMemoryBroker):
            await broker.wait_all()
        await broker.shutdown()
        executor.shutdown(wait=False)
        try:
            await registry.aclose()
        except Exception as exc:  # closing the SDK clients must not fail a clean stop
            log.warning("closing the push channels failed: %s", exc)
        log.info("worker stopped")
