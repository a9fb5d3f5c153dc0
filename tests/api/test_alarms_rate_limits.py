"""The device doors' rate limits: a device flooding events and a source address guessing secrets get
429 `alarm.ingest_rate_limited` with Retry-After, and nothing is written."""

from __future__ import annotations

import httpx
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.alarms import Alarm, AlarmEvent
from tests import factories as f
from tests.conftest import App

ISAPI = "/v1/alarm-ingest/isapi"
XML = {"Content-Type": "application/xml; charset=UTF-8"}


def event(count: int, state: str = "active") -> bytes:
    return (
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        f"<channelID>1</channelID><activePostCount>{count}</activePostCount>"
        f"<eventType>fielddetection</eventType><eventState>{state}</eventState>"
        "</EventNotificationAlert>"
    ).encode()


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def events(db: AsyncSession) -> int:
    return int((await db.exec(select(func.count()).select_from(AlarmEvent))).one())


async def test_a_flooding_device_is_throttled_and_others_are_not(app: App, db: AsyncSession) -> None:
    app.runtime.settings = app.settings.model_copy(update={"alarm_ingest_device_per_minute": 3})
    client = app.client
    w = await f.ticket_world(db)
    noisy = await f.alarm_device(client, w.manager, w.cid)
    quiet = await f.alarm_device(client, w.manager, w.cid, serial="DS-QUIET-01")
    for i in range(3):
        r = await client.post(
            ISAPI,
            params={"device": noisy["serial"], "token": noisy["secret"]},
            content=event(i + 1),
            headers=XML,
        )
        assert r.status_code == 200, r.text
    before = await events(db)

    r = await client.post(
        ISAPI, params={"device": noisy["serial"], "token": noisy["secret"]}, content=event(4), headers=XML
    )
    assert (r.status_code, code(r)) == (429, "alarm.ingest_rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"]["details"]["retry_after"] == int(r.headers["Retry-After"])
    assert await events(db) == before
    alarm = (await db.exec(select(Alarm).where(Alarm.device_id == noisy["id"]))).one()
    assert alarm.count == 3

    # The limit is the device's: another camera of the same community still gets through.
    r = await client.post(
        ISAPI, params={"device": quiet["serial"], "token": quiet["secret"]}, content=event(1), headers=XML
    )
    assert r.status_code == 200, r.text


async def test_guessing_secrets_locks_the_source_out_even_for_the_right_one(
    app: App, db: AsyncSession
) -> None:
    app.runtime.settings = app.settings.model_copy(update={"alarm_ingest_refusals_per_minute": 2})
    client = app.client
    w = await f.ticket_world(db)
    device = await f.alarm_device(client, w.manager, w.cid)
    params = {"device": device["serial"]}

    # The Digest handshake's first leg is no guess: it never counts.
    for _ in range(3):
        r = await client.post(ISAPI, params=params, content=event(1), headers=XML)
        assert (r.status_code, code(r)) == (401, "alarm.ingest_digest_required")
    for guess in ("wrong-1", "wrong-2"):
        r = await client.post(ISAPI, params={**params, "token": guess}, content=event(1), headers=XML)
        assert (r.status_code, code(r)) == (401, "alarm.ingest_unauthorized")

    r = await client.post(ISAPI, params={**params, "token": device["secret"]}, content=event(1), headers=XML)
    assert (r.status_code, code(r)) == (429, "alarm.ingest_rate_limited")
    assert await events(db) == 0
    r = await client.post(
        ISAPI,
        params={**params, "token": device["secret"]},
        content=event(1),
        headers={**XML, "Accept-Language": "en"},
    )
    assert r.json()["error"]["message"] == "Too many events; retry later"
