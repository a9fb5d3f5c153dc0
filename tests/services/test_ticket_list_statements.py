"""The ticket list and badge counts are built once per shape and run on the driver (services.tickets.
queries, services.driver_sql): for every role and filter the bound statement returns exactly the rows
of the same statement with the request's values inline run through SQLAlchemy, and of the plain
statement (scope() as one OR, no merged pages), and a shape's statement serves any caller of it. On PostgreSQL (LINLI_TEST_DATABASE_URL) the bound side is
asyncpg with its array parameters; on SQLite both run through SQLAlchemy."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import load_principal
from services.models import Role
from services.models.tickets import Ticket, TicketStatus
from services.tickets import queries
from tests import factories as f

NOW = datetime(2026, 6, 16, 9, 30, tzinfo=UTC)
FILTERS: list[dict[str, Any]] = [
    {},
    {"status": [TicketStatus.submitted, TicketStatus.accepted]},
    {"queue": "grab"},
    {"queue": "assigned"},
    {"overdue": True},
    {"overdue": False, "kind": "repair"},
    {"kind": "complaint", "valid": True},
    {"valid": False},
    {"q": "100%_漏"},
    {"q": "漏水", "priority": "high"},
    {"created_from": NOW - timedelta(days=5), "created_to": NOW - timedelta(days=1)},
    {"category": "plumbing", "status": [TicketStatus.closed]},
    {"status": [TicketStatus.resolved]},
]


async def _tickets(db: AsyncSession, w: f.TicketWorld) -> None:
    rng = random.Random(17)
    other_home = await f.household(db, w.building)
    statuses = list(TicketStatus)
    for i in range(60):
        complaint = rng.random() < 0.35
        db.add(
            Ticket(
                community_id=w.cid,
                household_id=rng.choice([w.household.id, other_home.id, None]),
                kind="complaint" if complaint else "repair",
                category="service_attitude" if complaint else rng.choice(["plumbing", "electrical"]),
                priority=rng.choice(["normal", "high", "urgent"]),
                status=rng.choice(statuses),
                title=rng.choice(["厨房水管漏水", "楼道灯不亮", "100%_漏了"]),
                complaint_target=rng.choice(["neighbour", "service"]) if complaint else None,
                about_staff_id=w.technician.id if complaint and rng.random() < 0.3 else None,
                reporter_id=rng.choice([w.resident.id, None]),
                created_by_id=rng.choice([w.resident.id, w.technician.id, w.manager.id]),
                assignee_id=rng.choice([None, w.technician.id, w.technician2.id]),
                response_due_at=NOW + timedelta(hours=rng.randint(-48, 48)),
                resolution_due_at=NOW + timedelta(hours=rng.randint(-48, 96)),
                complaint_valid=rng.choice([None, True, False]) if complaint else None,
                created_at=NOW - timedelta(days=10) + timedelta(hours=4 * i),
            )
        )
    await db.flush()


async def test_every_shape_gives_the_inline_statements_rows(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    other = await f.ticket_world(db)  # a second community: its tickets never show
    await _tickets(db, w)
    await _tickets(db, other)
    admin = await f.platform_admin(db)
    grid = await f.community_staff(db, w.community, Role.grid_worker)
    people = [w.resident, w.manager, w.committee, w.admin, w.technician, w.technician2, admin, grid]
    seen = 0
    for person in people:
        principal = await load_principal(db, person.id)  # type: ignore[arg-type]
        for base in FILTERS:
            for filters in (base, {**base, "community_id": w.cid}):
                parts, values = queries._parts(principal, filters, NOW)
                for after in (None, 40):
                    bound = {**values, "limit": 7, **({"after": after} if after else {})}
                    driver = await queries._list_statement(parts, after is not None).rows(db, bound)
                    inline = queries.list_statement(principal, filters, after, 7, NOW)
                    through_sqlalchemy = (await db.execute(inline)).all()
                    case = (person.name, filters, after)
                    assert [tuple(r) for r in driver] == [tuple(r) for r in through_sqlalchemy], case
                    # The merged pages of scope()'s alternatives are the page of their OR.
                    plain = sa.select(*queries.LIST_COLUMNS).where(*queries._filters(principal, filters, NOW))
                    if after:
                        plain = plain.where(queries.T.id < after)
                    one_where = (await db.execute(plain.order_by(queries.T.id.desc()).limit(7))).all()
                    assert [tuple(r) for r in driver] == [tuple(r) for r in one_where], case
                    seen += len(driver)
                    assert all(r[0] < after for r in driver) if after else True
                counted = await queries._counts_statement(parts).rows(db, values)
                where = queries._filters(principal, filters, NOW)
                inner = sa.select(Ticket.status).where(*where).subquery()  # type: ignore[arg-type]
                by_status = sa.select(inner.c.status, sa.func.count()).group_by(inner.c.status)
                expected = {
                    s: n for s, n in (await db.execute(by_status)).all() if s in queries.BADGE_STATUSES
                }
                assert dict(counted) == expected, (person.name, filters)
    assert seen > 300  # the matrix reads rows, not only empty pages

    # Another community's tickets never appear, whoever asks and however.
    foreign = set((await db.execute(sa.select(Ticket.id).where(Ticket.community_id == other.cid))).scalars())  # type: ignore[arg-type]
    for person in people[:6]:
        principal = await load_principal(db, person.id)  # type: ignore[arg-type]
        parts, values = queries._parts(principal, {}, NOW)
        rows = await queries._list_statement(parts, False).rows(db, {**values, "limit": 500})
        assert rows and not {r[0] for r in rows} & foreign, person.name


async def test_a_shape_is_built_once_for_every_caller_of_it(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    other = await f.ticket_world(db)
    one = await load_principal(db, w.resident.id)  # type: ignore[arg-type]
    two = await load_principal(db, other.resident.id)  # type: ignore[arg-type]
    parts_one, values_one = queries._parts(one, {"status": ["submitted", "accepted"]}, NOW)
    parts_two, values_two = queries._parts(two, {"status": ["accepted", "closed"]}, NOW)
    assert parts_one == parts_two and values_one != values_two
    assert queries._list_statement(parts_one, False) is queries._list_statement(parts_two, False)
    # A manager's shape (the whole community, one IN list) is another statement.
    manager = await load_principal(db, w.manager.id)  # type: ignore[arg-type]
    parts_manager, _ = queries._parts(manager, {"status": ["submitted", "accepted"]}, NOW)
    assert parts_manager != parts_one


async def test_one_status_binds_as_an_equality_the_index_orders_by_id(db: AsyncSession) -> None:
    """`status = $n`, not `= ANY($n)`: behind many newer tickets of other statuses, `= ANY` let
    PostgreSQL only walk pk_ticket backwards (3.2 ms behind 29,000 new open tickets in the bench
    set), while an equality reads the page from ix_ticket_community_status_id in id order."""
    w = await f.ticket_world(db)
    manager = await load_principal(db, w.manager.id)  # type: ignore[arg-type]
    dialect = db.get_bind().dialect
    for statuses, equal in (
        (["closed"], True),
        (["closed", "closed"], True),
        (["closed", "resolved"], False),
    ):
        parts, values = queries._parts(manager, {"community_id": w.cid, "status": statuses}, NOW)
        sql = str(queries._list_statement(parts, False).statement(dialect).compile(dialect=dialect))
        assert bool(re.search(r"ticket\.status = (?!ANY)", sql)) is equal, sql
        assert values["status"] == ("closed" if equal else statuses)
