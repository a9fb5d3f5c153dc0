"""Lifecycle over HTTP: wrong state 422, wrong role 403, stale version 409, reasons, urge, reopen,
cancel, reject, reprioritise, grab, and the complaint call with the committee's dispute."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification
from services.models.tickets import Ticket
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _templates(db: AsyncSession, user_id: int | None, ticket_id: object) -> list[str]:
    rows = (await db.exec(select(Notification).where(Notification.user_id == user_id))).all()
    return [n.data["template"] for n in rows if n.data.get("ticket_id") == ticket_id]


async def _in_progress(client: httpx.AsyncClient, w: f.TicketWorld) -> dict[str, object]:
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    r = await f.act(client, w.technician, r.json(), "start")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _resolved(client: httpx.AsyncClient, w: f.TicketWorld) -> dict[str, object]:
    t = await _in_progress(client, w)
    assert (await f.upload_photo(client, w.technician, t["id"], "after")).status_code == 201
    r = await f.act(client, w.technician, t, "resolve", note="已修好")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_invalid_transition_is_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    for action in ("resolve", "resume", "close", "start"):
        r = await f.act(client, w.manager, t, action, note="x")
        assert r.status_code == 422, (action, r.text)
        assert _code(r) == "ticket.invalid_transition"
    r = await client.post(
        f"/v1/tickets/{t['id']}/transitions", json={"action": "fly", "version": 1}, headers=f.auth(w.manager)
    )
    assert r.status_code == 422 and _code(r) == "request.invalid"


async def test_wrong_role_is_403(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    for who, action in ((w.resident, "accept"), (w.technician, "accept"), (w.committee, "reject")):
        r = await f.act(client, who, t, action, reason_code="invalid")
        assert r.status_code == 403, (action, r.text)
    r = await f.act(client, w.resident, t, "grab")
    assert r.status_code == 403
    # Read-only roles see the ticket but cannot change it.
    r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.admin))
    assert r.status_code == 200 and r.json()["allowed_actions"] == []


async def test_stale_version_is_409(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    assert (await f.act(client, w.manager, t, "accept")).status_code == 200
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)  # version 1 again
    assert r.status_code == 409 and _code(r) == "ticket.version_conflict"
    assert r.json()["error"]["details"]["version"] == 2


async def test_pause_needs_a_reason_and_moves_the_deadline(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await _in_progress(client, w)
    r = await f.act(client, w.technician, t, "pause")
    assert r.status_code == 422 and _code(r) == "ticket.reason_required"
    r = await f.act(client, w.technician, t, "pause", reason_code="because")
    assert r.status_code == 422 and _code(r) == "ticket.reason_required"
    r = await f.act(client, w.technician, t, "pause", reason_code="resident_not_home")
    assert r.status_code == 200
    assert await _templates(db, w.resident.id, t["id"]) == [
        "ticket.assigned",
        "ticket.started",
        "ticket.paused",
    ]
    # While paused the ticket is not overdue even when its old deadline passes.
    row = await db.get(Ticket, t["id"])
    assert row is not None
    r = await client.get("/v1/tickets?status=paused", headers=f.auth(w.manager))
    assert [i["id"] for i in r.json()["items"]] == [t["id"]]


async def test_urge_once_per_four_hours(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await _in_progress(client, w)
    r = await f.act(client, w.resident, t, "urge", reason="快点")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "in_progress" and t["last_urged_at"] is not None
    assert "ticket.urged" in await _templates(db, w.technician.id, t["id"])
    assert "ticket.urged" in await _templates(db, w.manager.id, t["id"])
    r = await f.act(client, w.resident, t, "urge")
    assert r.status_code == 429 and _code(r) == "ticket.urge_too_soon"
    assert int(r.headers["Retry-After"]) > 3 * 3600
    assert (await f.act(client, w.technician, t, "urge")).status_code == 403


async def test_cancel_only_before_work_starts(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.resident, t, "cancel", reason="自己修好了")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    t = await _in_progress(client, w)
    r = await f.act(client, w.resident, t, "cancel")
    assert r.status_code == 422 and _code(r) == "ticket.invalid_transition"


async def test_reject_needs_duplicate_or_invalid(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "reject")
    assert r.status_code == 422 and _code(r) == "ticket.reason_required"
    r = await f.act(client, w.manager, t, "reject", reason_code="duplicate", reason="与 #1 重复")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert await _templates(db, w.resident.id, t["id"]) == ["ticket.rejected"]


async def test_reopen_within_seven_days_with_reason(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await _resolved(client, w)
    r = await f.act(client, w.resident, t, "reopen")
    assert r.status_code == 422 and _code(r) == "ticket.reason_required"
    r = await f.act(client, w.resident, t, "reopen", reason="又漏了")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "assigned" and t["resolved_at"] is None
    assert "ticket.reopened" in await _templates(db, w.technician.id, t["id"])
    assert "ticket.reopened" in await _templates(db, w.manager.id, t["id"])
    # Resolved again, but 8 days ago: too late.
    r = await f.act(client, w.technician, t, "start")
    r = await f.act(client, w.technician, r.json(), "resolve", note="再修")
    assert r.status_code == 200
    row = await db.get(Ticket, t["id"])
    assert row is not None and row.resolved_at is not None
    row.resolved_at -= timedelta(days=8)
    db.add(row)
    await db.flush()
    r = await f.act(client, w.resident, r.json(), "reopen", reason="还是漏")
    assert r.status_code == 422 and _code(r) == "ticket.reopen_window_closed"


async def test_reprioritise_recomputes_due_times(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    created = datetime.fromisoformat(str(t["created_at"]))
    r = await f.act(client, w.manager, t, "reprioritise")
    assert r.status_code == 422 and _code(r) == "ticket.priority_required"
    r = await f.act(client, w.manager, t, "reprioritise", priority="urgent", reason="老人独居")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["priority"] == "urgent" and t["resolution_minutes"] == 240
    assert datetime.fromisoformat(t["response_due_at"]) - created == timedelta(minutes=30)
    assert datetime.fromisoformat(t["resolution_due_at"]) - created == timedelta(hours=4)
    assert (await f.act(client, w.resident, t, "reprioritise", priority="low")).status_code == 403


async def test_grab_from_the_queue(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await client.get("/v1/tickets?queue=grab", headers=f.auth(w.technician))
    assert [i["id"] for i in r.json()["items"]] == [t["id"]]
    # Not in the technician's own list until taken.
    assert (await client.get("/v1/tickets", headers=f.auth(w.technician))).json()["items"] == []
    r = await f.act(client, w.technician, t, "grab")
    assert r.status_code == 200, r.text
    assert r.json()["assignee_id"] == w.technician.id and r.json()["accepted_at"] is not None
    # Taken: it left the queue. The other technician who tries to grab it hears that it was taken
    # (409, as the loser of a simultaneous grab); reading it is still 404, as for any ticket
    # outside their reach.
    r2 = await f.act(client, w.technician2, r.json(), "grab")
    assert r2.status_code == 409 and _code(r2) == "ticket.already_taken", r2.text
    r2 = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.technician2))
    assert r2.status_code == 404 and _code(r2) == "ticket.not_found"
    # The committee reads every ticket: for it the state rule answers first, as for any action.
    r2 = await f.act(client, w.committee, r.json(), "grab")
    assert r2.status_code == 422 and _code(r2) == "ticket.invalid_transition", r2.text
    assert (await client.get("/v1/tickets?queue=grab", headers=f.auth(w.technician2))).json()["items"] == []
    r = await client.get("/v1/tickets", headers=f.auth(w.technician))
    assert [i["id"] for i in r.json()["items"]] == [t["id"]]


async def test_assign_needs_property_staff(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign")
    assert r.status_code == 422 and _code(r) == "ticket.assignee_required"
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.committee.id)
    assert r.status_code == 422 and _code(r) == "ticket.assignee_invalid"


async def test_complaint_classified_invalid_and_disputed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    repair = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, repair, "classify", valid=False, reason="x")
    assert r.status_code == 422 and _code(r) == "ticket.complaint_only"
    t = await f.file_ticket(
        client, w, kind="complaint", category="property_service", complaint_target="property_service"
    )
    r = await f.act(client, w.committee, t, "dispute", reason="明明有效")
    assert r.status_code == 422 and _code(r) == "ticket.not_classified_invalid"
    r = await f.act(client, w.manager, t, "classify", valid=False)
    assert r.status_code == 422 and _code(r) == "ticket.reason_required"
    r = await f.act(client, w.manager, t, "classify", valid=False, reason="保洁时间符合合同约定")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["complaint_valid"] is False
    # The committee sees the invalid ones and disputes; the manager hears of it.
    r = await client.get("/v1/tickets?kind=complaint&valid=false", headers=f.auth(w.committee))
    assert [i["id"] for i in r.json()["items"]] == [t["id"]]
    assert (await f.act(client, w.resident, t, "dispute", reason="x")).status_code == 403
    r = await f.act(client, w.committee, t, "dispute", reason="合同写的是每日两次")
    assert r.status_code == 200, r.text
    assert r.json()["dispute_reason"] == "合同写的是每日两次"
    assert "ticket.disputed" in await _templates(db, w.manager.id, t["id"])
    events = (await client.get(f"/v1/tickets/{t['id']}/events", headers=f.auth(w.committee))).json()
    assert [e["action"] for e in events] == ["create", "classify", "dispute"]
    assert events[1]["actor_id"] == w.manager.id and events[1]["reason"] == "保洁时间符合合同约定"
