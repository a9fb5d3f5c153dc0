"""The README story end to end over HTTP: file with a photo → accept → assign → pause → resume →
resolve with an after-photo → rate → close, then the SLA sweep escalates an overdue ticket."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification, User
from services.models.tickets import Ticket
from services.tickets.sla_sweep import sweep
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def _at(value: object) -> datetime:
    assert isinstance(value, str)
    return datetime.fromisoformat(value)


async def _inbox(db: AsyncSession, user: User, ticket_id: object) -> list[str]:
    rows = (
        await db.exec(
            select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))
        )
    ).all()
    return [n.data["template"] for n in rows if n.data.get("ticket_id") == ticket_id]


async def _events(
    client: httpx.AsyncClient, who: User, ticket_id: object
) -> list[tuple[str, str | None, str]]:
    r = await client.get(f"/v1/tickets/{ticket_id}/events", headers=f.auth(who))
    assert r.status_code == 200, r.text
    return [(e["action"], e["from_status"], e["to_status"]) for e in r.json()]


async def test_the_whole_story(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)

    # 1. The resident files a repair (normal priority: 8 h to respond, 48 h to resolve) with a photo.
    t = await f.file_ticket(client, w)
    tid = t["id"]
    created = _at(t["created_at"])
    assert t["status"] == "submitted" and t["intake_channel"] == "app"
    assert _at(t["response_due_at"]) - created == timedelta(hours=8)
    assert _at(t["resolution_due_at"]) - created == timedelta(hours=48)
    r = await f.upload_photo(client, w.resident, tid, "before")
    assert r.status_code == 201, r.text
    assert await _inbox(db, w.manager, tid) == ["ticket.created"]

    # 2. The manager accepts: the response clock stops.
    r = await f.act(client, w.manager, t, "accept")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "accepted" and t["accepted_at"] is not None
    assert await _inbox(db, w.resident, tid) == ["ticket.accepted"]

    # 3. … and assigns a technician.
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "assigned" and t["assignee_id"] == w.technician.id
    assert await _inbox(db, w.technician, tid) == ["ticket.assigned_to_you"]
    assert await _inbox(db, w.resident, tid) == ["ticket.accepted", "ticket.assigned"]

    r = await f.act(client, w.technician, t, "start")
    assert r.status_code == 200, r.text
    t = r.json()

    # 4. Paused for parts: the resolution clock stops.
    r = await f.act(client, w.technician, t, "pause", reason_code="waiting_for_parts", note="等阀门")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "paused" and t["pause_reason"] == "waiting_for_parts"
    due_before = _at(t["resolution_due_at"])
    assert t["resolution_elapsed_minutes"] < 1
    # Two hours pass while paused: move the ticket's past back instead of sleeping.
    two_hours = timedelta(hours=2)
    row = await db.get(Ticket, tid)
    assert row is not None and row.paused_at is not None and row.resolution_due_at is not None
    row.paused_at -= two_hours
    row.created_at -= two_hours
    row.resolution_due_at -= two_hours
    db.add(row)
    await db.flush()
    created, due_before = created - two_hours, due_before - two_hours

    # 5. Resumed: the deadline moves by the paused time, and the ticket says why.
    r = await f.act(client, w.technician, t, "resume")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "in_progress" and t["paused_at"] is None
    assert abs(t["paused_working_minutes"] - 120) < 1 and abs(t["paused_seconds"] - 7200) < 60
    assert abs((_at(t["resolution_due_at"]) - due_before) - timedelta(hours=2)) < timedelta(seconds=60)
    assert abs((_at(t["resolution_due_at"]) - created) - timedelta(hours=50)) < timedelta(seconds=60)

    # 6. Resolved with a work note and an after-photo.
    r = await f.act(client, w.technician, t, "resolve", note="更换阀门")
    assert r.status_code == 422 and r.json()["error"]["code"] == "ticket.after_photo_required"
    r = await f.upload_photo(client, w.technician, tid, "after", f.jpeg_bytes(color=(10, 200, 10)))
    assert r.status_code == 201, r.text
    r = await f.act(client, w.technician, t, "resolve", note="更换阀门")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "resolved" and t["resolution_note"] == "更换阀门"
    assert sorted(p["purpose"] for p in t["attachments"]) == ["after", "before"]

    # 7. The resident rates and closes.
    r = await client.post(
        f"/v1/tickets/{tid}/rating",
        json={"overall": 5, "speed": 4, "attitude": 5, "comment": "师傅很专业"},
        headers=f.auth(w.resident),
    )
    assert r.status_code == 200, r.text
    assert r.json()["followup_created"] is False
    t = (await client.get(f"/v1/tickets/{tid}", headers=f.auth(w.resident))).json()
    assert t["allowed_actions"] == ["close", "reopen", "rate"]
    r = await f.act(client, w.resident, t, "close")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "closed" and t["rating_overall"] == 5
    # Closed after a good rating: it cannot be reopened, so it is not offered; re-rating still is.
    assert t["allowed_actions"] == ["rate"]

    assert await _events(client, w.resident, tid) == [
        ("create", None, "submitted"),
        ("accept", "submitted", "accepted"),
        ("assign", "accepted", "assigned"),
        ("start", "assigned", "in_progress"),
        ("pause", "in_progress", "paused"),
        ("resume", "paused", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("rate", "resolved", "resolved"),
        ("close", "resolved", "closed"),
    ]
    assert await _inbox(db, w.resident, tid) == [
        "ticket.accepted",
        "ticket.assigned",
        "ticket.started",
        "ticket.paused",
        "ticket.resumed",
        "ticket.resolved",
    ]
    assert await _inbox(db, w.technician, tid) == ["ticket.assigned_to_you", "ticket.closed"]
    assert await _inbox(db, w.manager, tid) == ["ticket.created"]


async def test_sla_sweep_warns_breaches_and_escalates(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w, priority="urgent", category="elevator", title="电梯困人")
    tid = t["id"]
    created = _at(t["created_at"])
    assert _at(t["response_due_at"]) - created == timedelta(minutes=30)
    assert _at(t["resolution_due_at"]) - created == timedelta(hours=4)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200

    # Nothing is due yet.
    assert await sweep(db, created + timedelta(minutes=10)) == 0
    # 80 % of 4 h: the warning goes to the assignee and the manager.
    assert await sweep(db, created + timedelta(hours=3, minutes=15)) == 1
    assert "ticket.sla_warning" in await _inbox(db, w.technician, tid)
    # Past the deadline: breach to the manager; a second run sends nothing twice.
    assert await sweep(db, created + timedelta(hours=4, minutes=1)) == 1
    assert await sweep(db, created + timedelta(hours=4, minutes=2)) == 0
    assert (await _inbox(db, w.manager, tid))[-1] == "ticket.sla_breached"
    assert await _inbox(db, w.admin, tid) == []
    # Still open 50 % of the target (2 h) later: the community admin and the committee hear of it.
    assert await sweep(db, created + timedelta(hours=6, minutes=1)) == 1
    assert await _inbox(db, w.admin, tid) == ["ticket.sla_escalated"]
    assert await _inbox(db, w.committee, tid) == ["ticket.sla_escalated"]
    actions = [a for a, _, _ in await _events(client, w.manager, tid)]
    assert actions[-2:] == ["sla_breach", "sla_escalate"]
    # Overdue in the list as well.
    r = await client.get("/v1/tickets?overdue=true", headers=f.auth(w.manager))
    assert r.status_code == 200
    # (real time has not moved: the ticket is not overdue yet by the wall clock)
    assert [i["id"] for i in r.json()["items"]] == []
    await db.execute(
        sa.update(Ticket)
        .where(col(Ticket.id) == tid)
        .values(resolution_due_at=created - timedelta(minutes=1))
    )
    r = await client.get("/v1/tickets?overdue=true", headers=f.auth(w.manager))
    assert [i["id"] for i in r.json()["items"]] == [tid]
    assert r.json()["items"][0]["overdue"] is True
