"""The delivery queue: drain with the embedded push channel, leases that expire, fenced outcomes, SMS."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.db import session_factory
from services.models import Delivery, Device, Notification, User, utcnow
from services.notifications import deliveries as q
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import factories as f
from tests.conftest import App
from tests.workers.jpush_standin import JPushStandIn
from workers.channels.jpush import JPushChannel, JPushSettings
from workers.channels.push import LogPushChannel, OutcomeSink, Push, PushOutcome
from workers.channels.registry import PushRegistry
from workers.tasks.deliveries import drain_once

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

register_templates(
    {"test.queue": (("维修进度", "工单 {n} 已派单"), ("Repair update", "Ticket {n} assigned"))}
)


async def drain_deliveries(resources: Resources, push: LogPushChannel) -> int:
    total = 0
    while (stats := await drain_once(resources, push)).claimed:
        total += stats.claimed
    return total


@pytest.fixture
def resources(engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], app: App) -> Resources:
    return Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)


async def _device(db: AsyncSession, user_id: int, token: str) -> Device:
    d = Device(user_id=user_id, token=token, platform="android")
    db.add(d)
    await db.flush()
    return d


async def test_drain_sends_each_delivery_once_with_badge(db: AsyncSession, resources: Resources) -> None:
    u = await f.user(db)
    await _device(db, u.id or 0, "tok-1111111111111111111111")
    await _device(db, u.id or 0, "tok-2222222222222222222222")
    await notify(db, [u.id or 0], "ticket", "test.queue", {"n": 1}, "q:1")
    await notify(db, [u.id or 0], "ticket", "test.queue", {"n": 2}, "q:2")
    await db.commit()
    push = LogPushChannel()
    assert await drain_deliveries(resources, push) == 4
    assert len(push.sent) == 4
    assert {p.badge for p in push.sent} == {2}
    assert {p.collapse_key for p in push.sent} == {
        d.dedupe_key for d in (await db.exec(select(Delivery))).all()
    }
    rows = (await db.exec(select(Delivery).where(Delivery.user_id == u.id))).all()
    for row in rows:
        await db.refresh(row)
    assert {r.status for r in rows} == {"sent"}
    assert all(r.sent_at is not None and r.locked_until is None and r.attempts == 1 for r in rows)
    # Nothing left: a second pass sends nothing more.
    assert await drain_deliveries(resources, push) == 0
    assert len(push.sent) == 4


async def test_expired_claim_is_reclaimed_and_late_outcome_is_fenced(db: AsyncSession) -> None:
    u = await f.user(db)
    await _device(db, u.id or 0, "tok-3333333333333333333333")
    await notify(db, [u.id or 0], "ticket", "test.queue", {"n": 3}, "q:3")
    first = await q.claim_due(db, 10)
    assert len(first) == 1 and first[0].attempts == 1
    # Claimed rows are not handed out again while the lease holds…
    assert await q.claim_due(db, 10) == []
    # …but a crashed worker's lease expires and the row comes back.
    later = utcnow() + q.LEASE + timedelta(seconds=1)
    second = await q.claim_due(db, 10, now=later)
    assert [c.id for c in second] == [first[0].id] and second[0].attempts == 2
    # The crashed worker wakes up late: its outcome must not overwrite the live claim.
    assert await q.mark_sent(db, first[0], "late") is False
    assert await q.mark_sent(db, second[0], "msg-2") is True
    row = await db.get(Delivery, first[0].id)
    assert row is not None
    await db.refresh(row)
    assert row.status == "sent" and row.provider_message_id == "msg-2"


async def test_retry_backoff_dead_letter_and_redrive(db: AsyncSession) -> None:
    u = await f.user(db)
    await _device(db, u.id or 0, "tok-4444444444444444444444")
    await notify(db, [u.id or 0], "ticket", "test.queue", {"n": 4}, "q:4")
    now = utcnow()
    claimed = (await q.claim_due(db, 10))[0]
    assert await q.mark_retry(db, claimed, "QUOTA_EXCEEDED", retry_after=30)
    row = await db.get(Delivery, claimed.id)
    assert row is not None
    await db.refresh(row)
    assert row.status == "failed" and row.next_attempt_at >= now + timedelta(seconds=30)
    assert await q.claim_due(db, 10) == []  # not due yet
    when = row.next_attempt_at
    for attempt in range(2, q.MAX_ATTEMPTS + 1):
        when = when + timedelta(hours=2)
        c = (await q.claim_due(db, 10, now=when))[0]
        assert c.attempts == attempt
        await q.mark_retry(db, c, "UNAVAILABLE")
    await db.refresh(row)
    assert row.status == "dead" and row.last_error == "UNAVAILABLE"
    assert await q.redrive(db, [claimed.id]) == 1
    await db.refresh(row)
    assert row.status == "pending" and row.attempts == 0


def test_backoff_grows_and_honours_retry_after() -> None:
    assert 2.5 <= q.backoff_seconds(1) <= 5
    assert 40 <= q.backoff_seconds(5) <= 80
    assert q.backoff_seconds(20) <= q.MAX_BACKOFF
    assert q.backoff_seconds(1, retry_after=120) == 120


async def test_critical_sms_fallback_is_sent_through_the_provider(
    db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], app: App
) -> None:
    sms = LogSmsProvider(outbox_path=None)
    resources = Resources(engine, sessionmaker, Runtime(settings=app.settings, sms=sms))
    u = await f.user(db)
    await notify(db, [u.id or 0], "emergency", "test.queue", {"n": 5}, "q:5")
    await db.commit()
    stats = await drain_once(resources, LogPushChannel())
    assert stats.sent == 1
    assert sms.sent[0].phone == u.phone
    assert "工单 5 已派单" in sms.sent[0].text


class GatedChannel:
    """Answers every push at once except `held`, which waits for `gate`; honours `stop` like FCM."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.gate = asyncio.Event()
        self.sent: list[str] = []

    async def send(
        self,
        pushes: Sequence[Push],
        *,
        on_outcome: OutcomeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PushOutcome]:
        async def one(p: Push) -> PushOutcome:
            if stop is not None and stop.is_set():
                outcome = PushOutcome(p.delivery_id, "unsent")
            else:
                if p.token == self.held:
                    await self.gate.wait()
                self.sent.append(p.token)
                outcome = PushOutcome(p.delivery_id, "sent", message_id=f"m-{p.delivery_id}")
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        return list(await asyncio.gather(*(one(p) for p in pushes)))


@pytest.fixture
async def live(engine: AsyncEngine, app: App) -> AsyncIterator[Resources]:
    """Resources on real connections (the recorder commits from a task of its own while the drain and
    the test go on; the rolled-back test connection cannot be shared by concurrent sessions). Deletes
    the rows of the users it made."""
    resources = Resources(engine=engine, sessionmaker=session_factory(engine), runtime=app.runtime)
    made: list[int] = []
    resources.made_users = made  # type: ignore[attr-defined]
    yield resources
    async with resources.sessionmaker() as session, session.begin():
        for model in (Delivery, Notification, Device):
            await session.execute(sa.delete(model).where(col(model.user_id).in_(made)))
        await session.execute(sa.delete(User).where(col(User.id).in_(made)))


async def _recipients(resources: Resources, tokens: list[str], key: str, provider: str = "fcm") -> None:
    async with resources.sessionmaker() as session, session.begin():
        users = [User(phone=f"+8613{random.randrange(10**9):09d}", name="q", locale="en") for _ in tokens]
        session.add_all(users)
        await session.flush()
        session.add_all(
            Device(user_id=u.id or 0, token=t, platform="android", provider=provider)
            for u, t in zip(users, tokens, strict=True)
        )
    resources.made_users.extend(u.id or 0 for u in users)  # type: ignore[attr-defined]
    for u, token in zip(users, tokens, strict=True):
        async with resources.unit() as session:
            await notify(session, [u.id or 0], "ticket", "test.queue", {"n": 1}, f"{key}:{token}")


async def _ids(resources: Resources, tokens: list[str]) -> list[int]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(
            sa.select(col(Delivery.id))
            .join(Device, col(Device.id) == Delivery.device_id)
            .where(col(Device.token).in_(tokens))
        )
        return [int(i) for i in rows.scalars()]


async def _states(resources: Resources, tokens: list[str]) -> dict[str, tuple[str, int]]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(
            sa.select(col(Device.token), col(Delivery.status), col(Delivery.attempts))
            .join(Device, col(Device.id) == Delivery.device_id)
            .where(col(Device.token).in_(tokens))
        )
        return {str(t): (str(s), int(a)) for t, s, a in rows.all()}


async def test_an_answered_push_is_recorded_while_the_rest_of_its_batch_is_out(live: Resources) -> None:
    """A crash then re-sends only what was answered in the last record interval, not the batch."""
    tokens = ["tok-fast-000000000000000000", "tok-slow-000000000000000000"]
    await _recipients(live, tokens, "q:gate")
    channel = GatedChannel(held="tok-slow-000000000000000000")
    draining = asyncio.create_task(drain_once(live, channel, ids=await _ids(live, tokens)))
    try:
        for _ in range(100):  # ~delivery_record_seconds; a whole-batch recorder never gets there
            states = await _states(live, tokens)
            if states["tok-fast-000000000000000000"][0] == "sent":
                break
            await asyncio.sleep(0.05)
        assert states == {
            "tok-fast-000000000000000000": ("sent", 1),
            "tok-slow-000000000000000000": ("sending", 1),
        }
    finally:
        channel.gate.set()
    stats = await draining
    assert stats.sent == 2
    assert {s for s, _ in (await _states(live, tokens)).values()} == {"sent"}


async def test_stopping_releases_the_claims_it_will_not_send(live: Resources) -> None:
    """SIGTERM mid-batch: the push in flight is answered and recorded; the pushes not started are
    given back at once with their attempt undone (due now, not after the lease), and sent by the next
    drain exactly once."""
    tokens = [f"tok-stop-{i}-00000000000000000" for i in range(3)]
    await _recipients(live, tokens, "q:stop")
    ids = await _ids(live, tokens)
    stopping = asyncio.Event()

    class StopAfterFirst(GatedChannel):
        async def send(
            self,
            pushes: Sequence[Push],
            *,
            on_outcome: OutcomeSink | None = None,
            stop: asyncio.Event | None = None,
        ) -> list[PushOutcome]:
            first = await super().send(pushes[:1], on_outcome=on_outcome, stop=stop)
            stopping.set()  # the signal arrives while the first push is out
            return first + await super().send(pushes[1:], on_outcome=on_outcome, stop=stop)

    channel = StopAfterFirst(held="")
    stats = await drain_once(live, channel, ids=ids, stopping=stopping)
    assert (stats.sent, stats.released) == (1, 2)
    states = await _states(live, tokens)
    assert states[tokens[0]] == ("sent", 1)
    assert {states[t] for t in tokens[1:]} == {("sending", 0)}
    async with live.sessionmaker() as session, session.begin():
        again = await q.claim_due(session, 10, ids=ids)  # due at once, not after delivery_lease_seconds
    assert sorted(c.token or "" for c in again) == tokens[1:]
    assert {c.attempts for c in again} == {1}


async def test_stopping_a_jpush_drain_releases_what_it_did_not_start(live: Resources) -> None:
    """The same stop through the real JPush channel (one SDK thread): the push in flight is answered
    and recorded, the ones still waiting for a thread are released with their attempt undone."""
    tokens = [f"1a00189{i}0a9b2fe0a22" for i in range(3)]
    await _recipients(live, tokens, "q:jstop", provider="jpush")
    ids = await _ids(live, tokens)
    stopping = asyncio.Event()
    with JPushStandIn(app_key="k", master_secret="s") as server:
        for token in tokens:
            server.behave(token, "ok", delay_ms=1500)
        channel = JPushChannel(JPushSettings("k", "s", base_url=server.base_url, concurrency=1))
        draining = asyncio.create_task(
            drain_once(live, PushRegistry({"jpush": channel}), ids=ids, stopping=stopping)
        )
        for _ in range(200):  # claimed: the first request goes out, the others wait for the thread
            if {st for st, _ in (await _states(live, tokens)).values()} == {"sending"}:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.4)  # well inside the first answer's 1.5 s
        stopping.set()
        stats = await draining
        await channel.aclose()
        assert (stats.sent, stats.released) == (1, 2)
        assert len(server.requests) == 1
    states = await _states(live, tokens)
    assert sorted(states.values()) == [("sending", 0), ("sending", 0), ("sent", 1)]
    async with live.sessionmaker() as session, session.begin():
        again = await q.claim_due(session, 10, ids=ids)  # due at once, not after the lease
    assert len(again) == 2 and {c.provider for c in again} == {"jpush"}
