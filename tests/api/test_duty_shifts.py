"""Shifts: recurrence in the community's zone, overlap rules, check-in/out, the ledger, jobs and swaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.duty import jobs
from services.models import Attachment, Notification
from services.models.duty import DutyCheckin, DutyShift, DutyShiftAssignee, ServiceLog
from tests import factories as f
from tests.conftest import App
from workers.tasks import duty as duty_tasks

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def now() -> datetime:
    return datetime.now(UTC)


async def notes(db: AsyncSession, key: str) -> list[Notification]:
    return list((await db.exec(select(Notification).where(Notification.dedupe_key == key))).all())


async def test_recurrence_in_shanghai_across_a_week_boundary(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    await f.duty_assign(db, post, w.member1)
    today = date.today()
    friday = today + timedelta(days=(4 - today.weekday()) % 7 + 7)
    tuesday = friday + timedelta(days=4)
    body = {
        "recurrence": {
            "weekdays": [6, 7, 1],
            "start_time": "06:30",
            "end_time": "08:00",
            "from_date": friday.isoformat(),
            "to_date": tuesday.isoformat(),
        },
        "assignee_ids": [w.member1.id],
    }
    url = f"/v1/duty/posts/{post.id}/shifts"
    assert (await client.post(url, json=body, headers=f.auth(w.resident1))).status_code == 403
    assert (await client.post(url, json=body, headers=f.auth(w.member1))).status_code == 403
    r = await client.post(url, json=body, headers=f.auth(w.secretary))
    assert r.status_code == 201, r.text
    batch = r.json()
    # 06:30 in Shanghai (UTC+8, no DST) is 22:30 UTC the day before: Sat, Sun, then Monday of the next week.
    sat, sun, mon = friday + timedelta(days=1), friday + timedelta(days=2), friday + timedelta(days=3)
    expected = [
        datetime(d.year, d.month, d.day, 22, 30, tzinfo=UTC) - timedelta(days=1) for d in (sat, sun, mon)
    ]
    assert [datetime.fromisoformat(s["starts_at"]) for s in batch["items"]] == expected
    assert [
        datetime.fromisoformat(s["ends_at"]) - datetime.fromisoformat(s["starts_at"]) for s in batch["items"]
    ] == [timedelta(minutes=90)] * 3
    assert all(
        s["recurrence_id"] == batch["recurrence_id"] and s["assignee_ids"] == [w.member1.id]
        for s in batch["items"]
    )
    rows = (
        await db.exec(
            select(DutyShift).where(DutyShift.post_id == post.id).order_by(col(DutyShift.starts_at))
        )
    ).all()
    assert [r.starts_at for r in rows] == expected and {r.status for r in rows} == {"scheduled"}
    # The local-date listing puts them on Saturday, Sunday and Monday.
    r = await client.get(
        f"/v1/communities/{w.cid}/duty/shifts",
        params={"from": sat.isoformat(), "to": mon.isoformat()},
        headers=f.auth(w.resident1),
    )
    page = r.json()
    assert [s["id"] for s in page["items"]] == [s["id"] for s in batch["items"]]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["post_name"] == "安全值守岗"
    assert first["assignees"] == [{"user_id": w.member1.id, "name": "党员甲"}]
    r = await client.get(
        f"/v1/communities/{w.cid}/duty/shifts",
        params={"from": mon.isoformat(), "to": mon.isoformat()},
        headers=f.auth(w.grid),
    )
    assert [s["id"] for s in r.json()["items"]] == [batch["items"][2]["id"]]
    # Paged in time order like every list: one at a time, the cursor carries (starts_at, id).
    seen, cursor = [], None
    for _ in range(4):
        params = {"from": sat.isoformat(), "to": mon.isoformat(), "limit": "1"}
        r = await client.get(
            f"/v1/communities/{w.cid}/duty/shifts",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=f.auth(w.grid),
        )
        assert r.status_code == 200, r.text
        seen += [s["id"] for s in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["id"] for s in batch["items"]]
    r = await client.get(
        f"/v1/communities/{w.cid}/duty/shifts", params={"cursor": "bm9wZQ"}, headers=f.auth(w.grid)
    )
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"

    # Saturday evening watch: 19:00–21:00 local is 11:00–13:00 UTC; the same start again is a conflict.
    rule: dict[str, object] = body["recurrence"]  # type: ignore[assignment]
    weekly: dict[str, object] = {
        **body,
        "recurrence": {**rule, "weekdays": [6], "start_time": "19:00", "end_time": "21:00"},
    }
    r = await client.post(url, json=weekly, headers=f.auth(w.secretary))
    assert r.status_code == 201
    assert r.json()["items"][0]["starts_at"].startswith(f"{sat.isoformat()}T11:00:00")
    r = await client.post(url, json=weekly, headers=f.auth(w.secretary))
    assert r.status_code == 422 and code(r) == "duty.shift_overlap"


async def test_shift_validation(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    other_post = await f.duty_post(db, w, "dispute_mediation")
    for p in (post, other_post):
        await f.duty_assign(db, p, w.member1)
    url = f"/v1/duty/posts/{post.id}/shifts"
    start = (now() + timedelta(days=2)).replace(microsecond=0)
    single = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "assignee_ids": [w.member1.id],
    }
    sec = f.auth(w.secretary)

    backwards = {**single, "ends_at": (start - timedelta(hours=1)).isoformat()}
    r = await client.post(url, json=backwards, headers=sec)
    assert r.status_code == 422 and code(r) == "duty.shift_ends_before_start"
    rec = {
        "weekdays": [1],
        "start_time": "21:00",
        "end_time": "19:00",
        "from_date": "2030-01-01",
        "to_date": "2030-01-31",
    }
    r = await client.post(url, json={"recurrence": rec, "assignee_ids": [w.member1.id]}, headers=sec)
    assert r.status_code == 422 and code(r) == "duty.shift_ends_before_start"
    rec = {**rec, "start_time": "19:00", "end_time": "21:00", "to_date": "2029-12-01"}
    r = await client.post(url, json={"recurrence": rec, "assignee_ids": [w.member1.id]}, headers=sec)
    assert r.status_code == 422 and code(r) == "duty.invalid_dates"
    r = await client.post(
        url, json={**single, "starts_at": start.replace(tzinfo=None).isoformat()}, headers=sec
    )
    assert r.status_code == 422
    r = await client.post(url, json={**single, "assignee_ids": [w.member2.id]}, headers=sec)
    assert r.status_code == 422 and code(r) == "duty.assignee_not_on_post"

    first = await client.post(url, json=single, headers={**sec, "Idempotency-Key": "shift-a"})
    assert first.status_code == 201, first.text
    replay = await client.post(url, json=single, headers={**sec, "Idempotency-Key": "shift-a"})
    assert replay.json() == first.json()
    # The same member on another post, overlapping by 30 minutes: refused.
    overlapping = {
        **single,
        "starts_at": (start + timedelta(minutes=90)).isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
    }
    r = await client.post(f"/v1/duty/posts/{other_post.id}/shifts", json=overlapping, headers=sec)
    assert r.status_code == 422 and code(r) == "duty.shift_overlap"
    assert r.json()["error"]["details"]["shift_id"] == first.json()["items"][0]["id"]
    # Back to back is fine.
    adjacent = {
        **single,
        "starts_at": (start + timedelta(hours=2)).isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
    }
    assert (
        await client.post(f"/v1/duty/posts/{other_post.id}/shifts", json=adjacent, headers=sec)
    ).status_code == 201
    count = (
        await db.exec(
            select(func.count())
            .select_from(DutyShiftAssignee)
            .where(DutyShiftAssignee.user_id == w.member1.id)
        )
    ).one()
    assert count == 2
    assert (await client.post("/v1/duty/posts/999999/shifts", json=single, headers=sec)).status_code == 404
    assert (await client.post(url, json=single, headers=f.auth(w.stranger))).status_code == 404
    assert (await client.post(url, json=single)).status_code == 401


async def test_checkin_checkout_and_ledger(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    shift = await f.duty_shift(db, post, [w.member1, w.secretary], now() - timedelta(minutes=10), hours=2)
    url = f"/v1/duty/shifts/{shift.id}"

    r = await client.post(f"{url}/checkin", json={}, headers=f.auth(w.member2))
    assert r.status_code == 403 and code(r) == "duty.not_on_shift"
    assert (await client.post(f"{url}/checkin", json={}, headers=f.auth(w.stranger))).status_code == 404
    assert (await client.post(f"{url}/checkin", json={})).status_code == 401
    far = {"lat": f.DUTY_LAT + 0.05, "lng": f.DUTY_LNG}
    r = await client.post(f"{url}/checkin", json=far, headers=f.auth(w.member1))
    assert r.status_code == 422 and code(r) == "duty.checkin_too_far"
    assert (
        r.json()["error"]["details"]["allowed_m"] == 500 and r.json()["error"]["details"]["distance_m"] > 5000
    )
    assert (
        await client.post(f"{url}/checkin", json={"lat": f.DUTY_LAT}, headers=f.auth(w.member1))
    ).status_code == 422

    near = {"lat": f.DUTY_LAT + 0.003, "lng": f.DUTY_LNG, "note": "到岗"}  # ~334 m: inside 300 m + 200 m
    r = await client.post(f"{url}/checkin", json=near, headers=f.auth(w.member1))
    assert r.status_code == 201, r.text
    assert 300 < r.json()["distance_m"] < 350 and r.json()["note"] == "到岗"
    r = await client.post(f"{url}/checkin", json=near, headers=f.auth(w.member1))
    assert r.status_code == 409 and code(r) == "duty.already_checked_in"
    # No location is fine.
    assert (await client.post(f"{url}/checkin", json={}, headers=f.auth(w.secretary))).status_code == 201

    r = await client.post(
        f"{url}/checkin/attachments",
        files={"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")},
        headers=f.auth(w.member1),
    )
    assert r.status_code == 201, r.text
    photo = await db.get(Attachment, r.json()["id"])
    assert photo is not None and photo.owner_type == "duty_checkin" and photo.community_id == w.cid

    # member1 arrived 90 minutes ago; the secretary 5 hours ago (capped to 2 h + 30 min).
    rows = {
        c.user_id: c
        for c in (await db.exec(select(DutyCheckin).where(DutyCheckin.shift_id == shift.id))).all()
    }
    rows[w.member1.id or 0].checkin_at = now() - timedelta(minutes=90)
    rows[w.secretary.id or 0].checkin_at = now() - timedelta(hours=5)
    db.add_all(rows.values())
    await db.flush()
    r = await client.post(f"{url}/checkout", json={"note": "巡逻完毕"}, headers=f.auth(w.member1))
    assert r.status_code == 200, r.text
    assert Decimal(r.json()["hours"]) == Decimal("1.50")
    r = await client.post(f"{url}/checkout", json={}, headers=f.auth(w.member1))
    assert r.status_code == 409 and code(r) == "duty.already_checked_out"
    r = await client.post(f"{url}/checkout", json={}, headers=f.auth(w.secretary))
    assert Decimal(r.json()["hours"]) == Decimal("2.50")
    r = await client.post(f"{url}/checkout", json={}, headers=f.auth(w.member2))
    assert r.status_code == 403
    await db.refresh(shift)
    assert shift.status == "done"
    ledger = (
        await db.exec(
            select(ServiceLog).where(ServiceLog.source_id == shift.id).order_by(col(ServiceLog.hours))
        )
    ).all()
    assert [(row.user_id, row.hours, row.source) for row in ledger] == [
        (w.member1.id, Decimal("1.50"), "shift"),
        (w.secretary.id, Decimal("2.50"), "shift"),
    ]

    r = await client.get("/v1/duty/service-log", headers=f.auth(w.member1))
    assert r.status_code == 200
    assert Decimal(r.json()["total_hours"]) == Decimal("1.50") and len(r.json()["items"]) == 1
    item = r.json()["items"][0]
    assert r.json()["user_name"] == "党员甲"
    assert (item["member_name"], item["post_name"], item["activity_title"]) == ("党员甲", "安全值守岗", None)
    r = await client.get(
        "/v1/duty/service-log", params={"member_id": w.member1.id}, headers=f.auth(w.secretary)
    )
    assert (
        r.status_code == 200
        and r.json()["user_id"] == w.member1.id
        and Decimal(r.json()["total_hours"]) == Decimal("1.50")
    )
    r = await client.get(
        "/v1/duty/service-log", params={"member_id": w.member1.id}, headers=f.auth(w.member2)
    )
    assert r.status_code == 403
    assert (await client.get("/v1/duty/service-log")).status_code == 401
    assert (
        Decimal((await client.get("/v1/duty/service-log", headers=f.auth(w.resident1))).json()["total_hours"])
        == 0
    )


async def test_checkin_window(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    later = await f.duty_shift(db, post, [w.member1], now() + timedelta(hours=2))
    soon = await f.duty_shift(db, post, [w.member1], now() + timedelta(minutes=20), hours=1)
    over = await f.duty_shift(db, post, [w.member1], now() - timedelta(hours=3), hours=1)
    for s in (later, over):
        r = await client.post(f"/v1/duty/shifts/{s.id}/checkin", json={}, headers=f.auth(w.member1))
        assert r.status_code == 422 and code(r) == "duty.checkin_window"
    r = await client.post(f"/v1/duty/shifts/{soon.id}/checkin", json={}, headers=f.auth(w.member1))
    assert r.status_code == 201
    r = await client.post(f"/v1/duty/shifts/{later.id}/checkout", json={}, headers=f.auth(w.member1))
    assert r.status_code == 409 and code(r) == "duty.not_checked_in"


async def test_reminders_go_out_once(
    app: App, db: AsyncSession, engine: object, sessionmaker: object
) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    soon = await f.duty_shift(db, post, [w.member1, w.member2], now() + timedelta(minutes=50))
    await f.duty_shift(db, post, [w.member1], now() + timedelta(hours=3))
    await db.commit()
    assert await jobs.remind_shifts(db) == 2
    assert await jobs.remind_shifts(db) == 0
    sent = await notes(db, f"duty:shift:{soon.id}:remind")
    assert sorted(n.user_id for n in sent) == sorted([w.member1.id or 0, w.member2.id or 0])
    assert sent[0].category == "duty" and "安全值守岗" in sent[0].body
    # The worker wrapper runs the same job in its own unit of work: nothing new to send.
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)  # type: ignore[arg-type]
    assert await duty_tasks.remind_shifts(resources) == 0
    inbox = (await app.client.get("/v1/notifications", headers=f.auth(w.member1))).json()["items"]
    assert [n["title"] for n in inbox] == ["值班提醒"]


async def test_missed_shift_is_flagged_and_secretary_told_once(app: App, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    nobody = await f.duty_shift(db, post, [w.member1], now() - timedelta(minutes=20))
    covered = await f.duty_shift(db, post, [w.member2], now() - timedelta(minutes=20 + 180))
    db.add(DutyCheckin(shift_id=covered.id, user_id=w.member2.id or 0, checkin_at=covered.starts_at))
    early = await f.duty_shift(db, post, [w.member2], now() - timedelta(minutes=10))
    await db.flush()
    assert await jobs.mark_missed_shifts(db) == 1
    assert await jobs.mark_missed_shifts(db) == 0
    for s in (nobody, covered, early):
        await db.refresh(s)
    assert (nobody.status, covered.status, early.status) == ("missed", "scheduled", "scheduled")
    assert nobody.missed_at is not None
    told = await notes(db, f"duty:shift:{nobody.id}:missed")
    assert [n.user_id for n in told] == [w.secretary.id]
    r = await app.client.get("/v1/notifications", headers=f.auth(w.secretary))
    assert [n["title"] for n in r.json()["items"]] == ["班次无人签到"]

    # The covered shift is over and never checked out: the close job credits hours up to its end.
    assert await jobs.close_finished_shifts(db) == 1
    assert await jobs.close_finished_shifts(db) == 0
    await db.refresh(covered)
    assert covered.status == "done"
    row = (await db.exec(select(ServiceLog).where(ServiceLog.source_id == covered.id))).one()
    assert row.user_id == w.member2.id and row.hours == Decimal("2.00")


async def test_swap_approve_and_reject(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    shift = await f.duty_shift(db, post, [w.member1], now() + timedelta(days=1))
    url = f"/v1/duty/shifts/{shift.id}/swap-requests"
    body = {"to_user_id": w.member2.id, "reason": "出差"}
    assert (await client.post(url, json=body, headers=f.auth(w.member2))).status_code == 403
    r = await client.post(url, json={"to_user_id": w.resident1.id}, headers=f.auth(w.member1))
    assert r.status_code == 422 and code(r) == "duty.swap_invalid"
    r = await client.post(url, json=body, headers=f.auth(w.member1))
    assert r.status_code == 201, r.text
    swap = r.json()
    assert swap["status"] == "pending"
    assert [n.user_id for n in await notes(db, f"duty:swap:{swap['id']}:requested")] == [w.secretary.id]
    r = await client.post(url, json=body, headers=f.auth(w.member1))
    assert r.status_code == 409 and code(r) == "duty.swap_pending"

    approve = f"/v1/duty/swap-requests/{swap['id']}/approve"
    assert (await client.post(approve, headers=f.auth(w.member1))).status_code == 403
    assert (await client.post(approve, headers=f.auth(w.stranger))).status_code == 404
    assert (
        await client.post("/v1/duty/swap-requests/999999/approve", headers=f.auth(w.secretary))
    ).status_code == 404
    r = await client.post(approve, headers=f.auth(w.secretary))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["decided_by"] == w.secretary.id
    people = (
        await db.exec(select(DutyShiftAssignee.user_id).where(DutyShiftAssignee.shift_id == shift.id))
    ).all()
    assert list(people) == [w.member2.id]
    told = await notes(db, f"duty:swap:{swap['id']}:decided")
    assert sorted(n.user_id for n in told) == sorted([w.member1.id or 0, w.member2.id or 0])
    r = await client.post(approve, headers=f.auth(w.secretary))
    assert r.status_code == 409 and code(r) == "duty.swap_not_pending"

    # member2 hands it back; rejected, so member2 keeps the shift.
    r = await client.post(url, json={"to_user_id": w.member1.id}, headers=f.auth(w.member2))
    r = await client.post(f"/v1/duty/swap-requests/{r.json()['id']}/reject", headers=f.auth(w.secretary))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    people = (
        await db.exec(select(DutyShiftAssignee.user_id).where(DutyShiftAssignee.shift_id == shift.id))
    ).all()
    assert list(people) == [w.member2.id]

    # Approving a swap onto someone already busy then: refused.
    await f.duty_shift(db, post, [w.member1], shift.starts_at + timedelta(minutes=30), hours=1)
    r = await client.post(url, json={"to_user_id": w.member1.id}, headers=f.auth(w.member2))
    r = await client.post(f"/v1/duty/swap-requests/{r.json()['id']}/approve", headers=f.auth(w.secretary))
    assert r.status_code == 422 and code(r) == "duty.shift_overlap"
