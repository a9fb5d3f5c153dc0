"""Channel choice per device: each delivery goes through its device's provider (the real
firebase-admin and jpush SDKs against their loopback stand-ins), and each provider drains in its own
lane, so a JPush outage does not hold up FCM."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.config import Settings
from services.models import Delivery, Device, Notification
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify
from tests import factories as f
from tests.conftest import App
from tests.workers.fcm_standin import FcmStandIn
from tests.workers.jpush_standin import JPushStandIn
from workers.channels.fcm import FcmChannel
from workers.channels.jpush import JPushChannel, JPushSettings
from workers.channels.registry import PushRegistry, build_registry
from workers.tasks.deliveries import drain_once

register_templates({"test.lanes": (("工单进度", "第 {n} 条"), ("Ticket", "Number {n}"))})

KEY, SECRET = "linli-jpush-key", "linli-jpush-secret"
PIXEL = "fcm-pixel-" + "p" * 40 + ":APA91b" + "q" * 30
HUAWEI = "1a0018970a9b2fe0a22"


@pytest.fixture
def jstandin() -> Iterator[JPushStandIn]:
    with JPushStandIn(app_key=KEY, master_secret=SECRET, hang_seconds=4) as server:
        yield server


def _jpush(server: JPushStandIn, timeout: float = 5.0) -> JPushChannel:
    return JPushChannel(JPushSettings(KEY, SECRET, base_url=server.base_url, timeout_seconds=timeout))


def _registry(fcm: FcmChannel, jpush: JPushChannel, lane_batches: int = 2) -> PushRegistry:
    return PushRegistry(
        channels={"fcm": fcm, "jpush": jpush}, live={"fcm": True, "jpush": True}, lane_batches=lane_batches
    )


async def test_a_resident_gets_a_ticket_update_on_each_of_their_phones(
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: App,
    channel: FcmChannel,
    standin: FcmStandIn,
    jstandin: JPushStandIn,
) -> None:
    w = await f.ticket_world(db)
    h = f.auth(w.resident)
    for body in (
        {"token": PIXEL, "platform": "android", "provider": "fcm"},  # an old Pixel with Google services
        {"token": HUAWEI, "platform": "harmonyos", "provider": "jpush"},  # a Huawei phone
    ):
        r = await app.client.post("/v1/devices", json=body, headers=h)
        assert r.status_code == 201, r.text
    ticket = await f.file_ticket(app.client, w)
    r = await f.act(app.client, w.manager, ticket, "accept")
    assert r.status_code == 200, r.text
    await db.commit()

    jpush = _jpush(jstandin)
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    stats = await drain_once(resources, _registry(channel, jpush))
    assert stats.sent == 2, stats

    rows = (await db.exec(select(Delivery).where(Delivery.user_id == w.resident.id))).all()
    for row in rows:
        await db.refresh(row)
    assert sorted((d.provider, d.status) for d in rows) == [("fcm", "sent"), ("jpush", "sent")]
    by_provider = {d.provider: d for d in rows}
    [fcm_seen] = standin.requests_for(PIXEL)
    [jpush_seen] = jstandin.requests_for(HUAWEI)
    inbox = (await db.exec(select(Notification).where(Notification.user_id == w.resident.id))).one()
    assert fcm_seen.message["notification"]["title"] == inbox.title
    hmos = jpush_seen.body["notification"]["hmos"]
    assert (hmos["title"], hmos["alert"]) == (inbox.title, inbox.body)
    assert hmos["extras"]["notification_id"] == str(inbox.id)
    assert hmos["badge_set_num"] == 1  # the unread count
    assert by_provider["jpush"].provider_message_id == jpush_seen_msg_id(jstandin)
    await jpush.aclose()


def jpush_seen_msg_id(server: JPushStandIn) -> str:
    # The stand-in numbers its msg_ids from 18100000001: the first push of a fresh stand-in.
    assert len(server.requests) == 1
    return "18100000001"


def test_registry_falls_back_to_the_log_channel_for_unconfigured_providers(settings: Settings) -> None:
    registry = build_registry(settings.model_copy(update={"fcm_credentials": None, "jpush_app_key": None}))
    assert registry.describe() == {"fcm": "log only", "jpush": "log only", "apns": "log only"}
    assert registry.channel_for("jpush") is registry.fallback
    live = build_registry(
        settings.model_copy(
            update={"jpush_app_key": "k", "jpush_master_secret": SecretStr(SECRET), "fcm_credentials": None}
        )
    )
    assert live.describe()["jpush"] == "live"
    assert isinstance(live.channel_for("jpush"), JPushChannel)
    assert live.channel_for("fcm") is live.fallback


# --- lanes: committed rows, several drains at once ------------------------------------------------


async def _two_phones(resources: Resources, fcm_token: str, jpush_token: str) -> int:
    async with resources.unit() as session:
        u = await f.user(session)
        assert u.id is not None
        session.add(Device(user_id=u.id, token=fcm_token, platform="android", provider="fcm"))
        session.add(Device(user_id=u.id, token=jpush_token, platform="android", provider="jpush"))
    resources.made_users.append(u.id)  # type: ignore[attr-defined]
    return u.id


async def _notify(resources: Resources, user_id: int, n: int) -> None:
    async with resources.unit() as session:
        await notify(session, [user_id], "ticket", "test.lanes", {"n": n}, f"lanes:{user_id}:{n}")


async def _rows(resources: Resources, user_id: int) -> list[Delivery]:
    async with resources.sessionmaker() as session:
        stmt = (
            select(Delivery)
            .where(Delivery.user_id == user_id)
            .order_by(col(Delivery.notification_id), col(Delivery.provider))
        )
        return list((await session.exec(stmt)).all())


async def _status_of(resources: Resources, user_id: int) -> list[tuple[str | None, str]]:
    return [(d.provider, d.status) for d in await _rows(resources, user_id)]


async def _wait(
    resources: Resources, user_id: int, want: list[tuple[str | None, str]], seconds: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (got := await _status_of(resources, user_id)) != want:
        assert loop.time() < deadline, got
        await asyncio.sleep(0.05)


async def test_a_hanging_jpush_does_not_hold_up_fcm(
    committed: Resources, channel: FcmChannel, standin: FcmStandIn, jstandin: JPushStandIn
) -> None:
    fcm_token, jpush_token = "fcm-lane-hang-" + "a" * 30, "1a0018970a9b2fe0b01"
    user_id = await _two_phones(committed, fcm_token, jpush_token)
    jstandin.behave(None, "hang")
    jpush = _jpush(jstandin, timeout=2.0)
    registry = _registry(channel, jpush, lane_batches=1)
    await _notify(committed, user_id, 1)

    first = asyncio.create_task(drain_once(committed, registry))
    # FCM's answer is recorded while JPush is still hanging in the same drain.
    await _wait(committed, user_id, [("fcm", "sent"), ("jpush", "sending")], seconds=10)
    assert not first.done()
    assert len(standin.requests_for(fcm_token)) == 1

    # Meanwhile the JPush lane is full: a second drain sends the new FCM push and leaves JPush's row.
    await _notify(committed, user_id, 2)
    second = await asyncio.wait_for(drain_once(committed, registry), timeout=10)
    assert not first.done()
    assert (second.claimed, second.sent) == (1, 1)
    statuses = await _status_of(committed, user_id)
    assert statuses == [("fcm", "sent"), ("jpush", "sending"), ("fcm", "sent"), ("jpush", "pending")]

    # JPush is back (the first request still hangs): when the hang times out and frees the lane,
    # the row the full lane left behind goes out at once, with no other drain or sweeper run.
    jstandin.behave(None, "ok")
    stats = await first
    assert stats.retried == 1  # the hang timed out: retried later, the device kept
    await _wait(
        committed, user_id, [("fcm", "sent"), ("jpush", "failed"), ("fcm", "sent"), ("jpush", "sent")], 10
    )
    while registry.followups:
        await asyncio.gather(*registry.followups)
    rows = await _rows(committed, user_id)
    assert "CONNECTION" in (rows[1].last_error or "")
    assert rows[3].provider_message_id  # the left-behind push, answered by JPush
    assert len(standin.requests_for(fcm_token)) == 2  # each FCM push exactly once
    async with committed.sessionmaker() as session:
        device = (await session.exec(select(Device).where(Device.token == jpush_token))).one()
    assert device.disabled_at is None
    await jpush.aclose()


async def test_jpush_503_fails_its_own_rows_only(
    committed: Resources, channel: FcmChannel, standin: FcmStandIn, jstandin: JPushStandIn
) -> None:
    fcm_token, jpush_token = "fcm-lane-503-" + "b" * 30, "1a0018970a9b2fe0b02"
    user_id = await _two_phones(committed, fcm_token, jpush_token)
    jstandin.behave(None, "server_error")
    jpush = _jpush(jstandin)
    await _notify(committed, user_id, 1)
    stats = await drain_once(committed, _registry(channel, jpush))
    assert (stats.sent, stats.retried) == (1, 1)
    rows = await _rows(committed, user_id)
    assert [(d.provider, d.status) for d in rows] == [("fcm", "sent"), ("jpush", "failed")]
    assert rows[1].next_attempt_at > rows[0].next_attempt_at and "1000" in (rows[1].last_error or "")
    await jpush.aclose()


async def test_a_burst_larger_than_the_lane_goes_out_without_the_sweeper(
    committed: Resources, channel: FcmChannel, standin: FcmStandIn
) -> None:
    """A full lane leaves its rows due, but the drain that frees the lane drains them at once: the
    whole burst is sent in a few batches' time, far below the relay grace, with no sweeper run."""
    tokens = [f"fcm-lane-burst-{i:02d}-" + "c" * 30 for i in range(12)]
    user_ids = []
    async with committed.unit() as session:
        for token in tokens:
            u = await f.user(session)
            assert u.id is not None
            session.add(Device(user_id=u.id, token=token, platform="android", provider="fcm"))
            user_ids.append(u.id)
    committed.made_users.extend(user_ids)  # type: ignore[attr-defined]
    for token in tokens:
        standin.behave(token, "ok", delay_ms=300)  # each push answered after 300 ms
    async with committed.unit() as session:
        await notify(session, user_ids, "ticket", "test.lanes", {"n": 1}, "lanes:burst")
    async with committed.sessionmaker() as session:
        ids = list((await session.exec(select(Delivery.id).where(col(Delivery.user_id).in_(user_ids)))).all())
    assert len(ids) == 12
    registry = PushRegistry(channels={"fcm": channel}, live={"fcm": True}, lane_batches=1)

    # Four wake-ups of 3 ids at once (as the relay kicks), batches of 3, a lane of one drain: three
    # of the four find the lane full and leave their rows due.
    loop = asyncio.get_running_loop()
    started = loop.time()
    chunks = [ids[i : i + 3] for i in range(0, 12, 3)]
    first = await asyncio.gather(*(drain_once(committed, registry, limit=3, ids=c) for c in chunks))
    assert sum(s.claimed for s in first) == 3  # the lane held the other nine back

    deadline = started + 5.0  # four batches of 300 ms; the relay grace is 10 s
    while True:
        async with committed.sessionmaker() as session:  # a fresh snapshot each time
            rows = (await session.exec(select(Delivery).where(col(Delivery.id).in_(ids)))).all()
        if all(d.status == "sent" for d in rows):
            break
        assert loop.time() < deadline, sorted(d.status for d in rows)
        await asyncio.sleep(0.05)
    while registry.followups:
        await asyncio.gather(*registry.followups)
    assert registry.lane("fcm").busy == 0 and not registry.lane("fcm").backlog
    assert all(d.attempts == 1 for d in rows)  # each claimed once
    assert len({d.provider_message_id for d in rows}) == 12
    assert [len(standin.requests_for(t)) for t in tokens] == [1] * 12  # each sent exactly once
