"""Issue 21's notification defects: who is told, and what the message says.

A reassigned technician hears they are off the ticket; the complainant hears the verdict with the
manager's reason; a member who missed a shift is told; the urge reason is in the message; an SLA
sweep catching up after downtime sends no "about to expire" once the deadline has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.duty import jobs as duty_jobs
from services.models import Notification, User
from services.tickets.sla_sweep import sweep
from tests import factories as f
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


async def _inbox(db: AsyncSession, user: User, ticket_id: object = None) -> list[Notification]:
    rows = (
        await db.exec(
            select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))
        )
    ).all()
    return [n for n in rows if ticket_id is None or n.data.get("ticket_id") == ticket_id]


def _templates(rows: list[Notification]) -> list[str]:
    return [str(n.data["template"]) for n in rows]


async def test_reassigned_technician_is_told_and_the_new_one_too(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    r = await f.act(client, w.manager, r.json(), "assign", assignee_id=w.technician2.id)
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] == w.technician2.id

    old = await _inbox(db, w.technician, t["id"])
    assert _templates(old) == ["ticket.assigned_to_you", "ticket.unassigned"]
    assert old[-1].title == f"工单已改派 #{t['id']}"
    assert old[-1].body == "「厨房水管漏水」已改派给 维修工乙，您无需再处理"
    new = await _inbox(db, w.technician2, t["id"])
    assert _templates(new) == ["ticket.assigned_to_you"]
    # Assigning the same technician again tells nobody they were taken off.
    r = await f.act(client, w.manager, r.json(), "assign", assignee_id=w.technician2.id)
    assert r.status_code == 200, r.text
    assert "ticket.unassigned" not in _templates(await _inbox(db, w.technician2, t["id"]))


async def test_complainant_is_told_the_verdict_with_the_reason(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    w.resident.locale = "en"
    db.add(w.resident)
    await db.flush()
    t = await f.file_ticket(
        client, w, kind="complaint", category="property_service", complaint_target="property_service"
    )
    r = await f.act(client, w.manager, t, "classify", valid=False, reason="监控显示保洁按时完成")
    assert r.status_code == 200, r.text
    told = await _inbox(db, w.resident, t["id"])
    assert _templates(told) == ["ticket.classified_invalid"]
    assert told[0].body == 'Your complaint "厨房水管漏水" was not found valid: 监控显示保洁按时完成'

    r = await f.act(client, w.manager, r.json(), "classify", valid=True, reason="复核后确认保洁漏扫")
    assert r.status_code == 200, r.text
    told = await _inbox(db, w.resident, t["id"])
    assert _templates(told) == ["ticket.classified_invalid", "ticket.classified_valid"]
    assert told[-1].body == 'Your complaint "厨房水管漏水" was found valid: 复核后确认保洁漏扫'
    # The manager who made the call is not told of it.
    assert _templates(await _inbox(db, w.manager, t["id"])) == ["ticket.created"]


async def test_urge_reason_is_in_the_message(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    r = await f.act(client, w.resident, r.json(), "urge", reason="水已经漫到客厅了")
    assert r.status_code == 200, r.text
    for who in (w.technician, w.manager):
        urged = [n for n in await _inbox(db, who, t["id"]) if n.data["template"] == "ticket.urged"]
        assert [n.body for n in urged] == ["报修人催促处理「厨房水管漏水」：水已经漫到客厅了"]


async def test_urge_without_a_reason_reads_cleanly(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.resident, t, "urge")
    assert r.status_code == 200, r.text
    urged = [n for n in await _inbox(db, w.manager, t["id"]) if n.data["template"] == "ticket.urged"]
    assert [n.body for n in urged] == ["报修人催促处理「厨房水管漏水」"]


async def test_member_who_missed_a_shift_is_told(app: App, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    shift = await f.duty_shift(db, post, [w.member1, w.member2], datetime.now(UTC) - timedelta(minutes=20))
    assert await duty_jobs.mark_missed_shifts(db) == 1
    assert await duty_jobs.mark_missed_shifts(db) == 0  # told once
    for member in (w.member1, w.member2):
        rows = await _inbox(db, member)
        assert _templates(rows) == ["duty.shift_missed_member"]
        assert rows[0].dedupe_key == f"duty:shift:{shift.id}:missed:member"
        assert rows[0].body.startswith("您在「安全值守岗") and "已记为缺勤" in rows[0].body
        r = await app.client.get("/v1/notifications", headers=f.auth(member))
        assert [n["title"] for n in r.json()["items"]] == ["班次未签到"]
    assert _templates(await _inbox(db, w.secretary)) == ["duty.shift_missed"]


async def test_sla_catch_up_sends_no_warning_after_the_deadline(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w, priority="urgent", category="elevator", title="电梯困人")
    created = datetime.fromisoformat(str(t["created_at"]))
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    # The sweeper was down from before the 80 % mark until past the 4 h deadline.
    assert await sweep(db, created + timedelta(hours=4, minutes=30)) == 1
    for who in (w.technician, w.manager):
        sla = [n for n in _templates(await _inbox(db, who, t["id"])) if n.startswith("ticket.sla_")]
        assert sla == ["ticket.sla_breached"]
    # Later runs send neither the stale warning nor the breach again.
    assert await sweep(db, created + timedelta(hours=4, minutes=40)) == 0
    sla = [n for n in _templates(await _inbox(db, w.manager, t["id"])) if n.startswith("ticket.sla_")]
    assert sla == ["ticket.sla_breached"]
