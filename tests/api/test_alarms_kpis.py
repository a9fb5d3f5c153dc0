"""Alarm KPIs (issue 15 item 8) in the KPI tables: acknowledgement time (median, p90), the share
acknowledged within the severity's target, the false-alarm rate and the device online rate — with
targets, `met` (lower is better where it should be), drill-down, roll-up snapshots and access."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.presence import heard_from, sweep_offline
from services.kpis import alarm_metrics
from services.kpis import jobs as kpi_jobs
from services.models import Notification
from services.models.alarms import Alarm, AlarmDevice
from tests import factories as f

pytestmark = pytest.mark.at("2026-06-16T10:00:00+08:00")

BJ = ZoneInfo("Asia/Shanghai")
ISAPI = "/v1/alarm-ingest/isapi"
ALARM_METRICS = "alarm_ack_median,alarm_ack_p90,alarm_ack_timeliness,alarm_false_rate,device_online_rate"
RANGE = {"from": "2026-04-01", "to": "2026-06-30", "granularity": "month", "metrics": ALARM_METRICS}


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ).astimezone(UTC)  # type: ignore[misc]


def event(kind: str, state: str = "active") -> bytes:
    return (
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        "<channelID>1</channelID><dateTime>2026-05-01T10:00:00+08:00</dateTime>"
        f"<activePostCount>1</activePostCount><eventType>{kind}</eventType>"
        f"<eventState>{state}</eventState></EventNotificationAlert>"
    ).encode()


class History:
    """May 2026 (Beijing) through the HTTP doors, each step at its own instant."""

    def __init__(self, client: httpx.AsyncClient, clock: time_machine.Coordinates) -> None:
        self.client, self.clock = client, clock

    async def at(self, when: datetime) -> None:
        self.clock.move_to(when)

    async def signal(self, device: dict[str, Any], kind: str, state: str = "active") -> int | None:
        r = await self.client.post(
            ISAPI,
            params={"device": device["serial"], "token": device["secret"]},
            content=event(kind, state),
            headers={"Content-Type": "application/xml"},
        )
        assert r.status_code == 200, r.text
        return r.json()["alarm_id"]  # type: ignore[no-any-return]

    async def act(self, who: Any, alarm_id: int, action: str, **body: str) -> None:
        r = await self.client.post(f"/v1/alarms/{alarm_id}/{action}", json=body or None, headers=f.auth(who))
        assert r.status_code == 200, r.text


def series(body: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(s for s in body["metrics"] if s["metric"] == metric)  # type: ignore[no-any-return]


def cells(s: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(p["period"], p["numerator"], p["denominator"], p["value"], p["met"]) for p in s["periods"]]


async def build(
    client: httpx.AsyncClient, db: AsyncSession, clock: time_machine.Coordinates
) -> tuple[f.TicketWorld, dict[str, int]]:
    w = await f.ticket_world(db)
    h = History(client, clock)
    await h.at(bj(2026, 5, 1, 9))
    cam1 = await f.alarm_device(client, w.manager, w.cid, name="东门")
    cam2 = await f.alarm_device(client, w.manager, w.cid, name="3号楼", heartbeat_interval_seconds=600)
    ids: dict[str, int] = {"cam1": cam1["id"], "cam2": cam2["id"]}
    # A1 intrusion (major, 15 min): acknowledged after 3 min, then judged a false alarm.
    await h.at(bj(2026, 5, 2, 10))
    ids["a1"] = await h.signal(cam1, "fielddetection") or 0
    await h.at(bj(2026, 5, 2, 10, 3))
    await h.act(w.manager, ids["a1"], "acknowledge")
    await h.at(bj(2026, 5, 2, 10, 10))
    await h.act(w.manager, ids["a1"], "clear", reason="false_alarm", note="树影晃动")
    # A2 smoke (critical, 5 min): acknowledged after 12 min (late), resolved.
    await h.at(bj(2026, 5, 3, 10))
    ids["a2"] = await h.signal(cam2, "smokedetection") or 0
    await h.at(bj(2026, 5, 3, 10, 12))
    await h.act(w.admin, ids["a2"], "acknowledge")
    await h.at(bj(2026, 5, 3, 10, 30))
    await h.act(w.admin, ids["a2"], "clear", reason="resolved")
    # A3 fire (critical): the camera clears it after 2 min, nobody answered — excluded, listed.
    await h.at(bj(2026, 5, 4, 10))
    ids["a3"] = await h.signal(cam1, "firedetection") or 0
    await h.at(bj(2026, 5, 4, 10, 2))
    await h.signal(cam1, "firedetection", "inactive")
    # A4 intrusion: nobody answers; the camera clears it an hour later — late.
    await h.at(bj(2026, 5, 5, 10))
    ids["a4"] = await h.signal(cam2, "fielddetection") or 0
    await h.at(bj(2026, 5, 5, 11))
    await h.signal(cam2, "fielddetection", "inactive")
    # Motion is stored, not routed: in no KPI.
    await h.at(bj(2026, 5, 6, 10))
    ids["motion"] = await h.signal(cam1, "vmd") or 0
    await h.signal(cam1, "vmd", "inactive")
    # cam2 falls silent: offline from 20 May until it speaks again on 10 June.
    await h.at(bj(2026, 5, 20, 10))
    assert await sweep_offline(db, datetime.now(UTC)) == 1
    offline = (await db.exec(select(Alarm.id).where(Alarm.type == "device_offline"))).one()
    ids["offline"] = int(offline or 0)
    await h.at(bj(2026, 6, 10, 10))
    row = await db.get(AlarmDevice, ids["cam2"])
    assert row is not None and row.status == "offline"
    assert await heard_from(db, row, datetime.now(UTC))  # its heartbeat again (as the MQTT door hears it)
    await h.signal(cam2, "fielddetection")  # and a new alarm nobody answers
    # A6 (June): raised two minutes before now, unanswered: not judged yet.
    await h.at(bj(2026, 6, 16, 9, 58))
    ids["a6"] = await h.signal(cam1, "fielddetection") or 0
    await h.at(bj(2026, 6, 16, 10))
    return w, ids


async def test_alarm_kpis_values_targets_met_and_drilldown(
    client: httpx.AsyncClient, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    w, ids = await build(client, db, frozen_clock)
    assert (await db.get(AlarmDevice, ids["cam2"])).status == "online"  # type: ignore[union-attr]
    url = f"/v1/communities/{w.cid}/kpis"
    r = await client.get(url, params=RANGE, headers=f.auth(w.admin))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["metric"] for s in body["metrics"]] == ALARM_METRICS.split(",")

    median = series(body, "alarm_ack_median")
    assert (median["unit"], median["better"], median["target"], median["available"]) == (
        "minutes",
        "lower",
        5.0,
        True,
    )
    # May: answered after 3 and 12 minutes; the cell is (quantile seconds × alarms, alarms).
    assert cells(median)[:2] == [("2026-04", 0, 0, None, None), ("2026-05", 360, 2, 3.0, True)]
    p90 = series(body, "alarm_ack_p90")
    assert cells(p90)[1] == ("2026-05", 1440, 2, 12.0, True)
    timely = series(body, "alarm_ack_timeliness")
    assert (timely["unit"], timely["better"], timely["target"]) == ("percent", "higher", 95.0)
    # A1 in time; A2, A4 and cam2's device_offline alarm (20 May, answered by nobody) late.
    assert cells(timely)[1] == ("2026-05", 1, 4, 25.0, False)
    false = series(body, "alarm_false_rate")
    assert (false["better"], false["target"]) == ("lower", 10.0)
    assert cells(false)[1] == ("2026-05", 1, 4, 25.0, False)
    online = series(body, "device_online_rate")
    # At April's end no device existed; at May's end cam2 was offline; now both are online.
    assert [c[1:4] for c in cells(online)] == [(0, 0, None), (1, 2, 50.0), (2, 2, 100.0)]
    june_timely = cells(timely)[2]
    assert june_timely[2] == 1  # the 10 June alarm (unanswered, past target); A6 not judged yet

    async def drill(metric: str, part: str, period: str = "2026-05", who: Any = w.manager) -> list[int]:
        r = await client.get(
            f"{url}/{metric}/tickets", params={"period": period, "part": part}, headers=f.auth(who)
        )
        assert r.status_code == 200, r.text
        return sorted(row["id"] for row in r.json()["items"])

    assert await drill("alarm_ack_median", "denominator") == sorted([ids["a1"], ids["a2"]])
    assert await drill("alarm_ack_median", "numerator") == [ids["a1"]]
    assert await drill("alarm_ack_p90", "numerator") == sorted([ids["a1"], ids["a2"]])
    assert await drill("alarm_ack_timeliness", "numerator") == [ids["a1"]]
    assert await drill("alarm_ack_timeliness", "denominator") == sorted(
        [ids["a1"], ids["a2"], ids["a4"], ids["offline"]]
    )
    assert await drill("alarm_ack_timeliness", "excluded") == [ids["a3"]]
    assert await drill("alarm_false_rate", "numerator") == [ids["a1"]]
    assert ids["motion"] not in await drill("alarm_false_rate", "denominator")
    assert await drill("device_online_rate", "denominator") == sorted([ids["cam1"], ids["cam2"]])
    assert await drill("device_online_rate", "numerator") == [ids["cam1"]]
    r = await client.get(f"{url}/alarm_ack_timeliness/tickets", params={"period": "2026-05", "part": "excluded"},
                         headers=f.auth(w.admin))  # fmt: skip
    row = r.json()["items"][0]
    assert (
        row["ref"] == "alarm"
        and row["excluded"] == "cleared_by_device"
        and row["detail"]["severity"] == "critical"
    )
    r = await client.get(f"{url}/device_online_rate/tickets", params={"period": "2026-05", "part": "denominator"},
                         headers=f.auth(w.admin))  # fmt: skip
    assert {i["ref"] for i in r.json()["items"]} == {"alarm_device"}

    # Targets: minutes for the median (a maximum), percent for the false-alarm rate (a maximum).
    r = await client.put(f"/v1/communities/{w.cid}/kpi-targets",
                         json={"targets": {"alarm_ack_median": 2, "alarm_false_rate": 30}}, headers=f.auth(w.committee))  # fmt: skip
    assert r.status_code == 200, r.text
    body = (await client.get(url, params=RANGE, headers=f.auth(w.admin))).json()
    assert cells(series(body, "alarm_ack_median"))[1][4] is False
    assert cells(series(body, "alarm_false_rate"))[1][4] is True

    # The acknowledgement target is configurable per severity: critical within 15 min makes A2 timely.
    monkey = SimpleNamespace(alarm_ack_target_minutes={"critical": 15})
    original = alarm_metrics.get_settings
    alarm_metrics.get_settings = lambda: monkey  # type: ignore[assignment, return-value]
    try:
        body = (await client.get(url, params=RANGE, headers=f.auth(w.admin))).json()
    finally:
        alarm_metrics.get_settings = original
    assert cells(series(body, "alarm_ack_timeliness"))[1][1:3] == (2, 4)

    # The roll-up stores the same cells; the table then answers May from the snapshot.
    result = await kpi_jobs.rollup(db, now=datetime.now(UTC), community_ids=[w.cid])
    # Over a lower-is-better limit the alert says so, in the metric's unit.
    alerted = {(m, p.isoformat()) for _, m, p in result.alerted}
    assert ("alarm_ack_median", "2026-05-01") in alerted and ("alarm_false_rate", "2026-05-01") not in alerted
    inbox = (
        await db.exec(
            select(Notification).where(Notification.category == "kpi", Notification.user_id == w.manager.id)
        )
    ).all()
    median_alert = next(n for n in inbox if n.data["kpi_metric"] == "alarm_ack_median")
    assert median_alert.data["template"] == "kpi.over_limit"
    assert "3.00 分钟" in median_alert.body and "超过目标上限 2.00 分钟" in median_alert.body
    body = (await client.get(url, params=RANGE, headers=f.auth(w.admin))).json()
    may = series(body, "alarm_ack_p90")["periods"][1]
    assert (may["numerator"], may["denominator"], may["value"], may["source"]) == (1440, 2, 12.0, "snapshot")
    assert series(body, "device_online_rate")["periods"][1]["source"] == "snapshot"

    # A company's table: the same cells summed over its communities (one here).
    r = await client.get(f"/v1/companies/{w.company.id}/kpis", params=RANGE, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    assert cells(series(r.json(), "alarm_ack_p90"))[1] == ("2026-05", 1440, 2, 12.0, True)
    assert cells(series(r.json(), "alarm_false_rate"))[1][1:4] == (1, 4, 25.0)

    # English titles.
    body = (await client.get(url, params=RANGE, headers={**f.auth(w.admin), "Accept-Language": "en"})).json()
    assert series(body, "alarm_false_rate")["title"] == "False-alarm rate"


async def test_alarm_kpi_access(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    other = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/kpis/alarm_ack_median/tickets"
    params = {"period": "2026-05", "part": "numerator"}
    assert (await client.get(url, params=params)).status_code == 401
    assert (await client.get(url, params=params, headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(url, params=params, headers=f.auth(other.admin))).status_code == 404
    r = await client.get(url, params={**params, "part": "bogus"}, headers=f.auth(w.admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "kpi.invalid_part"
    r = await client.get(f"/v1/communities/{w.cid}/kpis", params=RANGE, headers=f.auth(w.resident))
    assert r.status_code == 200  # the figures are public to residents; the drill-down is not
    assert all(p["denominator"] == 0 for s in r.json()["metrics"] for p in s["periods"])
