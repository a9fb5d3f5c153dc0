"""Every demo row is one the API would have accepted: tickets through TicketCreate, lifecycle events
through TransitionIn, ratings through RatingIn, inspections through InspectionCreate (the request
schemas the routes use, so a rule added there applies here), and the demo year looks like one:
many reporters, distinct titles, rating comments, more burst pipes in winter and more mosquitoes in
summer."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo
from services.config import Settings
from services.models import Community
from services.models.renovation import SupervisionRecord
from services.models.tickets import Inspection, InspectionItem, Ticket, TicketEvent, TicketRating
from services.tickets.schemas import Action, InspectionCreate, RatingIn, TicketCreate, TransitionIn

pytestmark = pytest.mark.calendar


async def test_every_demo_row_passes_the_api_validation(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    await demo.seed(settings, sessionmaker)
    c = (await db.exec(select(Community).where(Community.name == demo.COMMUNITY["name"]))).one()
    tickets = (await db.exec(select(Ticket).where(Ticket.community_id == c.id))).all()
    assert len(tickets) > 250
    # A renovation supervisor's problem opens its ticket through POST .../supervision (SupervisionCreate).
    supervised = set((await db.exec(select(SupervisionRecord.ticket_id))).all())
    tickets = [t for t in tickets if t.id not in supervised]
    for t in tickets:
        TicketCreate.model_validate(
            {
                "kind": t.kind,
                "category": t.category,
                "priority": t.priority,
                "title": t.title,
                "description": t.description,
                "household_id": t.household_id,
                "complaint_target": t.complaint_target,
                "intake_channel": t.intake_channel,
                "on_behalf_of_user_id": t.reporter_id if t.created_by_id != t.reporter_id else None,
            }
        )
    transitions = set(get_args(Action))
    events = (await db.exec(select(TicketEvent).where(TicketEvent.community_id == c.id))).all()
    checked = 0
    for e in events:
        if e.action not in transitions:
            assert e.action in ("create", "rate"), e.action
            continue
        note = e.data.get("note")
        TransitionIn.model_validate(
            {
                "action": e.action,
                "version": 1,
                "reason": e.reason,
                "note": note if isinstance(note, str) else None,
                "assignee_id": e.data.get("assignee_id"),
                "valid": e.data.get("valid"),
            }
        )
        checked += 1
    assert checked > 1000
    ratings = (await db.exec(select(TicketRating).where(TicketRating.community_id == c.id))).all()
    for r in ratings:
        RatingIn.model_validate(
            {"overall": r.overall, "speed": r.speed, "attitude": r.attitude, "comment": r.comment}
        )
    items: dict[int, list[InspectionItem]] = defaultdict(list)
    for item in (await db.exec(select(InspectionItem).where(InspectionItem.community_id == c.id))).all():
        items[item.inspection_id].append(item)
    inspections = (await db.exec(select(Inspection).where(Inspection.community_id == c.id))).all()
    assert inspections
    for ins in inspections:
        InspectionCreate.model_validate(
            {
                "kind": ins.kind,
                "area": ins.area,
                "building_id": ins.building_id,
                "note": ins.note,
                "inspected_at": ins.inspected_at,
                "items": [{"name": i.name, "passed": i.passed, "note": i.note} for i in items[ins.id or 0]],
            }
        )

    # A real year: many reporters, no title repeated hundreds of times, residents say something.
    reporters = Counter(t.reporter_id for t in tickets)
    assert len(reporters) >= 30 and max(reporters.values()) < len(tickets) / 10
    titles = Counter(t.title for t in tickets)
    assert len(titles) >= 40 and max(titles.values()) < 30
    assert sum(1 for r in ratings if r.comment) > len(ratings) * 0.6
    assert Counter(t.intake_channel for t in tickets)["phone"] > 10

    # Seasons: burst and frozen pipes in winter, mosquitoes in summer.
    zone = ZoneInfo(c.time_zone)
    by_month: dict[int, Counter[str]] = defaultdict(Counter)
    for t in tickets:
        by_month[t.created_at.astimezone(zone).month][t.title] += 1

    def count(months: tuple[int, ...], word: str) -> int:
        return sum(n for m in months for title, n in by_month[m].items() if word in title)

    assert count((12, 1, 2), "冻") > count((6, 7, 8), "冻")
    assert count((6, 7, 8), "蚊") > 0 and count((12, 1, 2), "蚊") == 0
