"""A burst of the same first event from one camera, in parallel: exactly one alarm, every event
counted on it (the partial unique index over the active statuses settles the race).

Each request gets its own session from the engine (the usual fixtures would serialise them on one
connection); everything committed here is deleted at the end.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from services.config import Settings
from services.db import session_factory, transaction
from services.models.alarms import Alarm, AlarmDevice
from tests import factories as f
from tests.committed_world import delete_ticket_world
from tests.conftest import committed_client

EVENT = (
    b'<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
    b"<channelID>1</channelID><activePostCount>1</activePostCount><eventType>fielddetection</eventType>"
    b"<eventState>active</eventState></EventNotificationAlert>"
)


async def test_parallel_first_events_make_one_alarm(settings: Settings, engine: AsyncEngine) -> None:
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    try:
        async with committed_client(settings, engine, maker) as client:
            device = await f.alarm_device(client, w.manager, w.cid)
            params = {"device": device["serial"], "token": device["secret"]}
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/v1/alarm-ingest/isapi",
                        params=params,
                        content=EVENT,
                        headers={"Content-Type": "application/xml"},
                    )
                    for _ in range(12)
                )
            )
            assert [r.status_code for r in answers] == [200] * 12, [r.text for r in answers]
            statuses = sorted(r.json()["status"] for r in answers)
            assert statuses == ["created"] + ["repeated"] * 11
            assert len({r.json()["alarm_id"] for r in answers}) == 1
        async with maker() as s:
            alarms = (await s.exec(select(Alarm).where(Alarm.community_id == w.cid))).all()
            assert len(alarms) == 1 and alarms[0].count == 12
    finally:
        await delete_ticket_world(engine, w)


async def test_index_allows_one_active_alarm_per_device_and_type(
    settings: Settings, engine: AsyncEngine
) -> None:
    """The database itself refuses a second active row, and accepts it once the first is cleared."""
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    try:
        async with maker() as s:
            device = AlarmDevice(
                community_id=w.cid, kind="camera", serial="RACE-IDX-1", name="x", secret_encrypted="-"
            )
            s.add(device)
            await s.flush()
            first = Alarm(
                community_id=w.cid, device_id=device.id, type="intrusion", severity="major", title="t"
            )
            s.add(first)
            await s.flush()
            try:
                async with s.begin_nested():
                    s.add(
                        Alarm(
                            community_id=w.cid,
                            device_id=device.id,
                            type="intrusion",
                            severity="major",
                            title="t",
                        )
                    )
                    await s.flush()
                raise AssertionError("a second active alarm was accepted")
            except sa.exc.IntegrityError:
                pass
            first.status = "cleared"
            s.add(first)
            s.add(
                Alarm(community_id=w.cid, device_id=device.id, type="intrusion", severity="major", title="t2")
            )
            await s.flush()
            await s.commit()
    finally:
        await delete_ticket_world(engine, w)
