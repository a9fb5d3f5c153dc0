"""The demo tickets: the seed is idempotent and consistent with the lifecycle, and the scheduler's SLA
job escalates the one overdue ticket on its first run (and never twice)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_tickets
from services.bootstrap import Resources
from services.config import Settings
from services.models import Community, Notification, User, utcnow
from services.models.tickets import SlaFlag, Ticket, TicketEvent
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import factories as f
from workers.tasks import sla as sla_jobs

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

Maker = async_sessionmaker[AsyncSession]


async def _seeded(settings: Settings, sessionmaker: Maker, db: AsyncSession) -> int:
    await demo.seed(settings, sessionmaker=sessionmaker)
    cid = (await db.exec(select(Community.id).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert cid is not None
    await demo_tickets.seed(db, cid)
    await db.commit()
    return cid


async def _count(db: AsyncSession, model: type[Ticket] | type[TicketEvent], cid: int) -> int:
    return int(
        (await db.exec(select(func.count()).select_from(model).where(model.community_id == cid))).one()
    )


async def _user(db: AsyncSession, phone: str) -> User:
    u = (await db.exec(select(User).where(User.phone == phone))).one()
    return u


async def _ticket(db: AsyncSession, cid: int, title: str) -> Ticket:
    return (await db.exec(select(Ticket).where(Ticket.community_id == cid, Ticket.title == title))).one()


async def _templates(db: AsyncSession, user: User, ticket_id: int | None) -> list[str]:
    rows = (
        await db.exec(
            select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))
        )
    ).all()
    return [n.data["template"] for n in rows if n.data.get("ticket_id") == ticket_id]


async def test_seed_is_idempotent_and_consistent(
    settings: Settings, sessionmaker: Maker, db: AsyncSession
) -> None:
    cid = await _seeded(settings, sessionmaker, db)
    tickets, events = await _count(db, Ticket, cid), await _count(db, TicketEvent, cid)
    assert tickets >= len(demo_tickets.TICKETS)
    await demo_tickets.seed(db, cid)
    await db.commit()
    assert (await _count(db, Ticket, cid), await _count(db, TicketEvent, cid)) == (tickets, events)

    now = utcnow()
    by_title = {t: await _ticket(db, cid, t) for t in demo_tickets.TITLES}
    assert {t: row.status for t, row in by_title.items()} == {
        demo_tickets.IN_PROGRESS_TITLE: "in_progress",
        demo_tickets.RESOLVED_TITLE: "resolved",
        demo_tickets.INVALID_COMPLAINT_TITLE: "rejected",
        demo_tickets.OVERDUE_TITLE: "in_progress",
    }
    for row in by_title.values():
        # 24x7 defaults: normal 8 h / 48 h, high 2 h / 24 h, from the moment of filing.
        assert row.response_due_at is not None and row.resolution_due_at is not None
        assert row.resolution_due_at - row.created_at == timedelta(minutes=row.resolution_minutes)
        assert row.sla_state == 0
        actions = (
            await db.exec(
                select(TicketEvent.action)
                .where(TicketEvent.ticket_id == row.id)
                .order_by(col(TicketEvent.id))
            )
        ).all()
        assert actions[0] == "create" and len(actions) == row.version
    overdue = by_title[demo_tickets.OVERDUE_TITLE]
    assert overdue.resolution_due_at is not None and overdue.escalate_at is not None
    assert overdue.resolution_due_at < now and overdue.escalate_at < now
    running = by_title[demo_tickets.IN_PROGRESS_TITLE]
    assert running.resolution_warn_at is not None and running.resolution_warn_at > now
    complaint = by_title[demo_tickets.INVALID_COMPLAINT_TITLE]
    assert complaint.complaint_valid is False and complaint.validity_reason


async def test_first_sla_sweep_escalates_the_overdue_ticket(
    settings: Settings, engine: AsyncEngine, sessionmaker: Maker, db: AsyncSession
) -> None:
    cid = await _seeded(settings, sessionmaker, db)
    resources = Resources(
        engine, sessionmaker, Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
    )
    # Breach and escalate of the overdue one; its warning is spent unsent (the deadline has passed).
    assert await sla_jobs.sweep_sla(resources) >= 2

    overdue = await _ticket(db, cid, demo_tickets.OVERDUE_TITLE)
    await db.refresh(overdue)
    assert overdue.sla_state == (SlaFlag.resolution_warned | SlaFlag.resolution_breached | SlaFlag.escalated)
    for title in (demo_tickets.IN_PROGRESS_TITLE, demo_tickets.RESOLVED_TITLE):
        other = await _ticket(db, cid, title)
        await db.refresh(other)
        assert other.sla_state == 0
    manager = await _user(db, demo_tickets.MANAGER)
    admin = await _user(db, "+8613800000012")
    chair = await _user(db, "+8613800000004")
    technician = await _user(db, demo_tickets.BUILDER)
    assert await _templates(db, manager, overdue.id) == ["ticket.sla_breached", "ticket.sla_escalated"]
    assert await _templates(db, technician, overdue.id) == ["ticket.sla_breached"]
    assert await _templates(db, admin, overdue.id) == ["ticket.sla_escalated"]
    assert await _templates(db, chair, overdue.id) == ["ticket.sla_escalated"]
    actions = (
        await db.exec(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == overdue.id)
            .order_by(col(TicketEvent.id))
        )
    ).all()
    assert actions[-2:] == ["sla_breach", "sla_escalate"]

    # A second run finds nothing new for it.
    await sla_jobs.sweep_sla(resources)
    assert len(await _templates(db, manager, overdue.id)) == 2


async def test_demo_tickets_work_over_http(
    settings: Settings, sessionmaker: Maker, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    cid = await _seeded(settings, sessionmaker, db)
    manager = await _user(db, demo_tickets.MANAGER)
    overdue = await _ticket(db, cid, demo_tickets.OVERDUE_TITLE)
    r = await client.get("/v1/tickets?overdue=true", headers=f.auth(manager))
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"] if i["community_id"] == cid] == [overdue.id]

    chair = await _user(db, "+8613800000004")
    r = await client.get("/v1/tickets?kind=complaint&valid=false", headers=f.auth(chair))
    # The KPI demo's year of history adds invalid complaints of its own.
    assert demo_tickets.INVALID_COMPLAINT_TITLE in [i["title"] for i in r.json()["items"]]

    # The resolved one waits for its reporter: rate, then close.
    resolved = await _ticket(db, cid, demo_tickets.RESOLVED_TITLE)
    reporter = await db.get(User, resolved.reporter_id)
    assert reporter is not None
    t = (await client.get(f"/v1/tickets/{resolved.id}", headers=f.auth(reporter))).json()
    assert t["allowed_actions"] == ["close", "reopen", "rate"]
    r = await client.post(
        f"/v1/tickets/{resolved.id}/rating",
        json={"overall": 5, "speed": 5, "attitude": 5},
        headers=f.auth(reporter),
    )
    assert r.status_code == 200, r.text
    r = await f.act(client, reporter, t, "close")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
