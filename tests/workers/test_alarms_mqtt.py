"""The MQTT door end to end: a private mosquitto, the `linli alarms-mqtt` loop (workers/alarms_mqtt.py)
in this event loop, readings published with aiomqtt, alarms asserted in the database.

- A reading over the device's threshold raises one alarm, repeats count on it, a reading inside the
  hysteresis band changes nothing, one under the clear threshold clears it; every message moves the
  heartbeat.
- A serial published under another community's prefix, an unknown serial, a bad payload: ignored,
  counted, no alarm.
- The broker killed and started again: the door reconnects by itself (backoff) and goes on.
- The presence sweep: a device silent beyond its interval goes offline with `device_offline`; its next
  message brings it back and clears the alarm.

Rows are committed for real (the door runs its own transactions) and deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from services.alarms import presence
from services.alarms.mqtt import Outcome
from services.alarms.simulator import mqtt_reading
from services.bootstrap import Resources
from services.config import Settings
from services.db import session_factory
from services.models import Community, utcnow
from services.models.alarms import (
    Alarm,
    AlarmDevice,
    AlarmEscalation,
    AlarmEvent,
    AlarmPicture,
    AlarmStatus,
    AlarmType,
    DeviceKind,
    DeviceStatus,
)
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests.servers import PrivateMosquitto
from workers.alarms_mqtt import run_mqtt

pytestmark = pytest.mark.real_clock  # the broker and paho keep the machine's clock


@dataclass
class Door:
    resources: Resources
    broker: PrivateMosquitto
    community_id: int
    other_community_id: int
    devices: dict[str, AlarmDevice]
    outcomes: Counter[str] = field(default_factory=Counter)
    seen: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] += 1
        self.seen.set()

    async def publish(
        self, serial: str, payload: bytes, kind: str = "reading", community: int | None = None
    ) -> None:
        topic = f"linli/{community or self.community_id}/{serial}/{kind}"
        async with aiomqtt.Client(
            "127.0.0.1", self.broker.port, identifier=f"test-pub-{time.monotonic_ns()}"
        ) as c:
            await c.publish(topic, payload, qos=1)

    async def alarms(self, serial: str) -> list[Alarm]:
        async with self.resources.sessionmaker() as s:
            device = self.devices[serial]
            return list(
                (
                    await s.exec(select(Alarm).where(Alarm.device_id == device.id).order_by(col(Alarm.id)))
                ).all()
            )

    async def device(self, serial: str) -> AlarmDevice:
        async with self.resources.sessionmaker() as s:
            row = await s.get(AlarmDevice, self.devices[serial].id)
            assert row is not None
            return row

    async def handled(self, total: int, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while sum(self.outcomes.values()) < total:
            if time.monotonic() > deadline:
                raise AssertionError(f"door handled {dict(self.outcomes)}, wanted {total} messages")
            await asyncio.sleep(0.02)


def sensor(community_id: int, serial: str, sensor_kind: str, **kw: Any) -> AlarmDevice:
    return AlarmDevice(
        community_id=community_id,
        kind=DeviceKind.sensor,
        sensor_kind=sensor_kind,
        vendor="汉威",
        model="JT-AEC2361",
        serial=serial,
        name=f"燃气探测器 {serial}",
        area="3号楼 1单元 厨房管井",
        secret_encrypted="unused-by-the-mqtt-door",
        **kw,
    )


async def delete_world(resources: Resources, community_ids: list[int]) -> None:
    async with resources.sessionmaker() as s, s.begin():
        alarm_ids = select(Alarm.id).where(col(Alarm.community_id).in_(community_ids))
        for model in (AlarmEscalation, AlarmPicture):
            await s.execute(sa.delete(model).where(col(model.alarm_id).in_(alarm_ids)))  # type: ignore[attr-defined]
        await s.execute(sa.delete(AlarmEvent).where(col(AlarmEvent.community_id).in_(community_ids)))
        await s.execute(sa.delete(Alarm).where(col(Alarm.community_id).in_(community_ids)))
        await s.execute(sa.delete(AlarmDevice).where(col(AlarmDevice.community_id).in_(community_ids)))
        await s.execute(sa.delete(Community).where(col(Community.id).in_(community_ids)))


@pytest.fixture
async def door(engine: AsyncEngine, settings: Settings, tmp_path: Path) -> AsyncIterator[Door]:
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    resources = Resources(
        engine=engine,
        sessionmaker=session_factory(engine),
        runtime=Runtime(
            settings=settings.model_copy(
                update={
                    "redis_url": None,
                    "mqtt_port": broker.port,
                    "mqtt_client_id": f"linli-test-{time.monotonic_ns()}",
                    "mqtt_reconnect_max_seconds": 1.0,
                }
            ),
            sms=LogSmsProvider(None),
        ),
    )
    stamp = time.monotonic_ns()
    async with resources.sessionmaker() as s, s.begin():
        mine = Community(name=f"MQTT 小区 {stamp}", address="测试路 1 号")
        other = Community(name=f"MQTT 隔壁 {stamp}", address="测试路 2 号")
        s.add_all([mine, other])
        await s.flush()
        assert mine.id is not None and other.id is not None
        devices = {
            "GAS-1": sensor(
                mine.id, f"GAS-1-{stamp}", "gas", threshold=20.0, clear_threshold=10.0, unit="%LEL"
            ),
            "LEAK-1": sensor(mine.id, f"LEAK-1-{stamp}", "water_leak", heartbeat_interval_seconds=60),
            "GAS-B": sensor(other.id, f"GAS-B-{stamp}", "gas", threshold=20.0),
        }
        s.add_all(devices.values())
    world = Door(resources, broker, mine.id, other.id, devices)
    stop = asyncio.Event()
    task = asyncio.create_task(run_mqtt(resources, stop, on_message=world.note))
    await wait_for(lambda: _subscribed(world), 15)
    try:
        yield world
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        broker.stop()
        await delete_world(resources, [mine.id, other.id])


async def _subscribed(world: Door) -> bool:
    """A heartbeat of a device of the other community through the door proves the subscription."""
    before = sum(world.outcomes.values())
    await world.publish("NOBODY", b"{}", kind="heartbeat")
    await asyncio.sleep(0.2)
    return sum(world.outcomes.values()) > before


async def wait_for(check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def serial(door: Door, name: str) -> str:
    return door.devices[name].serial


async def test_threshold_raises_repeats_and_clears(door: Door) -> None:
    gas = serial(door, "GAS-1")
    start = sum(door.outcomes.values())
    for value in (25.0, 31.5, 15.0):  # over, over again, inside the band (10 ≤ v < 20)
        await door.publish(gas, mqtt_reading(value, "%LEL", utcnow()))
    await door.handled(start + 3)
    [alarm] = await door.alarms("GAS-1")
    assert alarm.type == AlarmType.gas_leak
    assert alarm.status == AlarmStatus.active_unacknowledged
    assert alarm.count == 2
    assert alarm.source == "mqtt"
    assert alarm.value == 31.5
    assert door.outcomes[Outcome.raised] == 1 and door.outcomes[Outcome.repeated] == 1
    assert door.outcomes[Outcome.normal] == 1

    await door.publish(gas, mqtt_reading(4.0, "%LEL", utcnow()))
    await door.handled(start + 4)
    [alarm] = await door.alarms("GAS-1")
    assert alarm.status == AlarmStatus.cleared
    assert alarm.clear_reason == "device"
    device = await door.device("GAS-1")
    assert device.last_heartbeat_at is not None
    assert device.status == DeviceStatus.online


async def test_other_community_unknown_serial_and_bad_payload_raise_nothing(door: Door) -> None:
    start = sum(door.outcomes.values())
    other = serial(door, "GAS-B")
    await door.publish(other, mqtt_reading(99.0, "%LEL", utcnow()))  # B's sensor under A's prefix
    await door.publish(other, b'{"value": "lots"}', community=door.other_community_id)
    await door.publish(serial(door, "GAS-1"), b"not json")
    await door.publish("GAS-1", b"{}", kind="status")  # not a topic of ours (not subscribed either)
    await door.handled(start + 3)
    assert door.outcomes[Outcome.unknown_device] >= 2  # (the fixture's probe is one too)
    assert door.outcomes[Outcome.malformed] == 2
    assert await door.alarms("GAS-B") == []
    assert await door.alarms("GAS-1") == []


async def test_reconnects_after_the_broker_restarts(door: Door) -> None:
    door.broker.stop()
    await asyncio.sleep(1.0)  # the door notices and backs off
    door.broker.start()  # same port, empty: the door must subscribe again itself
    await wait_for(lambda: _subscribed(door), 20)
    start = sum(door.outcomes.values())
    await door.publish(serial(door, "LEAK-1"), mqtt_reading(1.0, "", utcnow()))
    await door.handled(start + 1)
    [alarm] = await door.alarms("LEAK-1")
    assert alarm.type == AlarmType.water_leak


async def test_silent_device_goes_offline_and_comes_back(door: Door) -> None:
    leak = door.devices["LEAK-1"]
    async with door.resources.sessionmaker() as s, s.begin():
        await s.execute(
            sa.update(AlarmDevice)
            .where(col(AlarmDevice.id) == leak.id)
            .values(last_heartbeat_at=utcnow() - timedelta(seconds=61))
        )
    async with door.resources.unit() as s:
        assert await presence.sweep_offline(s, utcnow()) == 1
    async with door.resources.unit() as s:  # a second sweep finds nothing new
        assert await presence.sweep_offline(s, utcnow()) == 0
    [offline] = await door.alarms("LEAK-1")
    assert offline.type == AlarmType.device_offline
    assert offline.status == AlarmStatus.active_unacknowledged
    assert (await door.device("LEAK-1")).status == DeviceStatus.offline

    start = sum(door.outcomes.values())
    await door.publish(leak.serial, b"{}", kind="heartbeat")
    await door.handled(start + 1)
    [offline] = await door.alarms("LEAK-1")
    assert offline.status == AlarmStatus.cleared
    device = await door.device("LEAK-1")
    assert device.status == DeviceStatus.online
    assert device.last_heartbeat_at is not None and device.last_heartbeat_at > utcnow() - timedelta(
        seconds=30
    )
