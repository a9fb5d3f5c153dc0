"""Volunteer activities (文明实践活动): publishing, sign-ups with a waiting list, attendance and hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification
from services.models.duty import Activity, ActivitySignup, ServiceLog
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def body(starts_in: timedelta = timedelta(days=2), **overrides: object) -> dict[str, object]:
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    data: dict[str, object] = {
        "title": "垃圾分类宣传",
        "description": "小区广场设摊宣传",
        "place": "小区中心广场",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "capacity": 2,
    }
    data.update(overrides)
    return data


async def statuses(db: AsyncSession, activity_id: int) -> dict[int, str]:
    rows = (await db.exec(select(ActivitySignup).where(ActivitySignup.activity_id == activity_id))).all()
    return {r.user_id: r.status for r in rows}


async def test_publish_activity(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    url = f"/v1/communities/{w.cid}/activities"
    r = await client.post(url, json=body(), headers=f.auth(w.resident1))
    assert r.status_code == 403
    assert (await client.post(url, json=body(), headers=f.auth(w.member1))).status_code == 403
    assert (await client.post(url, json=body())).status_code == 401
    r = await client.post(
        f"/v1/communities/{w.other.id}/activities", json=body(), headers=f.auth(w.secretary)
    )
    assert r.status_code == 404
    bad = body(ends_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    r = await client.post(url, json=bad, headers=f.auth(w.secretary))
    assert r.status_code == 422 and code(r) == "activity.ends_before_start"
    assert (await client.post(url, json=body(capacity=0), headers=f.auth(w.secretary))).status_code == 422

    first = body()  # built once: body() reads the clock, and a replay must send the same bytes
    r = await client.post(url, json=first, headers={**f.auth(w.secretary), "Idempotency-Key": "act-1"})
    assert r.status_code == 201, r.text
    a = r.json()
    assert Decimal(a["hours"]) == Decimal("2.00") and a["confirmed"] == 0 and a["waiting"] == 0
    again = await client.post(url, json=first, headers={**f.auth(w.secretary), "Idempotency-Key": "act-1"})
    assert again.status_code == 201 and again.json()["id"] == a["id"]
    rows = (await db.exec(select(Activity).where(Activity.community_id == w.cid))).all()
    assert [r.title for r in rows] == ["垃圾分类宣传"]
    listed = await client.get(url, headers=f.auth(w.resident2))
    assert [i["id"] for i in listed.json()["items"]] == [a["id"]]
    assert (await client.get(f"/v1/activities/{a['id']}", headers=f.auth(w.stranger))).status_code == 404


async def test_waiting_list_and_promotion(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    r = await client.post(f"/v1/communities/{w.cid}/activities", json=body(), headers=f.auth(w.secretary))
    aid = r.json()["id"]
    url = f"/v1/activities/{aid}/signups"
    got = {}
    for who in (w.resident1, w.member1, w.resident2, w.member2):
        r = await client.post(url, headers=f.auth(who))
        assert r.status_code == 201, r.text
        got[who.id] = r.json()
    # Full after two: the rest wait in order — a waiting list, not an error.
    assert [got[u.id]["status"] for u in (w.resident1, w.member1, w.resident2, w.member2)] == [
        "confirmed",
        "confirmed",
        "waiting",
        "waiting",
    ]
    assert (got[w.resident2.id]["position"], got[w.member2.id]["position"]) == (1, 2)
    r = await client.post(url, headers=f.auth(w.resident1))
    assert r.status_code == 409 and code(r) == "activity.already_signed_up"
    assert (await client.post(url, headers=f.auth(w.stranger))).status_code == 404
    assert (await client.post(url)).status_code == 401
    detail = (await client.get(f"/v1/activities/{aid}", headers=f.auth(w.resident1))).json()
    assert (detail["confirmed"], detail["waiting"]) == (2, 2)

    # A confirmed person cancels: the first waiting moves up and is told.
    r = await client.delete(f"{url}/me", headers=f.auth(w.member1))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert await statuses(db, aid) == {
        w.resident1.id: "confirmed",
        w.member1.id: "cancelled",
        w.resident2.id: "confirmed",
        w.member2.id: "waiting",
    }
    told = (
        await db.exec(
            select(Notification).where(
                col(Notification.dedupe_key).startswith(f"duty:activity:{aid}:promoted")
            )
        )
    ).all()
    assert [n.user_id for n in told] == [w.resident2.id]
    # Cancelling from the waiting list promotes nobody; cancelling twice is a conflict.
    r = await client.delete(f"{url}/me", headers=f.auth(w.member2))
    assert r.status_code == 200
    assert (await client.delete(f"{url}/me", headers=f.auth(w.member2))).status_code == 409
    # Signing up again after cancelling joins the end of the line (here: a free place? no — full).
    r = await client.post(url, headers=f.auth(w.member1))
    assert r.status_code == 201 and r.json()["status"] == "waiting" and r.json()["position"] == 1


async def test_attendance_credits_volunteer_hours(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    r = await client.post(
        f"/v1/communities/{w.cid}/activities",
        json=body(timedelta(hours=-1), hours="1.5", capacity=5),
        headers=f.auth(w.secretary),
    )
    past = r.json()["id"]
    for who in (w.resident1, w.member1):
        await client.post(f"/v1/activities/{past}/signups", headers=f.auth(who))
    url = f"/v1/activities/{past}/attendance"
    came = {"user_ids": [w.resident1.id, w.member2.id]}  # member2 walked in without signing up
    assert (await client.post(url, json=came, headers=f.auth(w.member1))).status_code == 403
    assert (await client.post(url, json=came, headers=f.auth(w.stranger))).status_code == 404
    r = await client.post(url, json={"user_ids": [w.stranger.id]}, headers=f.auth(w.secretary))
    assert r.status_code == 422
    r = await client.post(url, json=came, headers=f.auth(w.secretary))
    assert r.status_code == 200, r.text
    assert {a["user_id"] for a in r.json()["attended"]} == {w.resident1.id, w.member2.id}
    assert await statuses(db, past) == {
        w.resident1.id: "attended",
        w.member1.id: "confirmed",
        w.member2.id: "attended",
    }
    # Recording again credits nothing twice.
    assert (await client.post(url, json=came, headers=f.auth(w.secretary))).status_code == 200
    ledger = (
        await db.exec(select(ServiceLog).where(ServiceLog.source == "activity", ServiceLog.source_id == past))
    ).all()
    assert sorted((row.user_id, row.hours) for row in ledger) == sorted(
        [(w.resident1.id, Decimal("1.50")), (w.member2.id, Decimal("1.50"))]
    )
    r = await client.get("/v1/duty/service-log", headers=f.auth(w.resident1))
    assert (
        Decimal(r.json()["total_hours"]) == Decimal("1.50") and r.json()["items"][0]["source"] == "activity"
    )

    # Not before it starts; sign-ups close when it is over.
    r = await client.post(f"/v1/communities/{w.cid}/activities", json=body(), headers=f.auth(w.secretary))
    r = await client.post(
        f"/v1/activities/{r.json()['id']}/attendance", json=came, headers=f.auth(w.secretary)
    )
    assert r.status_code == 422 and code(r) == "activity.not_started"
    r = await client.post(
        f"/v1/communities/{w.cid}/activities", json=body(timedelta(days=-1)), headers=f.auth(w.secretary)
    )
    r = await client.post(f"/v1/activities/{r.json()['id']}/signups", headers=f.auth(w.resident2))
    assert r.status_code == 422 and code(r) == "activity.closed"
