"""The statements of filing a ticket, built once per dialect with bound parameters (issue 17).

A filing used to build its ORM unit of work and half a dozen statements afresh each time; here the
ticket and its 'create' event are one INSERT … RETURNING on PostgreSQL (a data-modifying CTE; two
statements on SQLite, which has none), and the managers to tell are chosen inside the recipients
query (services.notifications.audience) instead of being looked up first."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.driver_sql import DriverStatement, as_loaded
from services.models import ManagementContract, Membership, MembershipStatus, Role
from services.models.tickets import Ticket, TicketEvent
from services.notifications import audience
from services.notifications.audience import Recipient

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_TICKET_COLUMNS = [c for c in _TICKET.columns if c.name != "id"]
_EVENT_COLUMNS = [c for c in _EVENT.columns if c.name not in ("id", "ticket_id")]


def _ticket_insert() -> Any:
    values = {c.name: sa.bindparam(f"t_{c.name}", type_=c.type) for c in _TICKET_COLUMNS}
    return sa.insert(_TICKET).values(values).returning(_TICKET.c.id)


def _event_rows(ticket_id: Any) -> Any:
    return sa.select(ticket_id, *(sa.bindparam(f"e_{c.name}", type_=c.type) for c in _EVENT_COLUMNS))


@cache
def _insert_both() -> Any:
    """PostgreSQL: the ticket, its event and the managers to tell in one statement; one row per
    manager (ticket id, event id, then audience's recipient columns; NULLs when there is none)."""
    ticket = _ticket_insert().cte("new_ticket")
    event = (
        sa.insert(_EVENT)
        .from_select(["ticket_id", *(c.name for c in _EVENT_COLUMNS)], _event_rows(ticket.c.id))
        .returning(_EVENT.c.ticket_id, _EVENT.c.id)
        .cte("new_event")
    )
    told = audience.audience(managers_of_community, "postgresql").subquery("told")
    return sa.select(event.c.ticket_id, event.c.id, *told.c).select_from(event.outerjoin(told, sa.true()))


# On asyncpg, past SQLAlchemy's per-execution work (services.driver_sql): the filing's hottest statement.
_BOTH = DriverStatement(lambda _dialect: _insert_both())


@cache
def _insert_ticket() -> Any:
    return _ticket_insert()


@cache
def _insert_event() -> Any:
    ticket_id = sa.bindparam("ticket_id", type_=_EVENT.c.ticket_id.type)
    return (
        sa.insert(_EVENT)
        .from_select(["ticket_id", *(c.name for c in _EVENT_COLUMNS)], _event_rows(ticket_id))
        .returning(_EVENT.c.id)
    )


_DEFAULTS = {
    c.name: Ticket.model_fields[c.name].get_default(call_default_factory=False)
    for c in _TICKET.columns
    if Ticket.model_fields[c.name].default_factory is None
}


def new_row(**values: Any) -> dict[str, Any]:
    """A new ticket's columns: `values` over every column's default (as Ticket(...) would set
    them; a column without a default must be given)."""
    row = _DEFAULTS | values
    missing = [c.name for c in _TICKET_COLUMNS if c.name not in row]
    assert not missing, missing
    return row


async def insert(
    session: AsyncSession, row: dict[str, Any], event: dict[str, Any], category: str
) -> tuple[Ticket, int, list[Recipient]]:
    """Write the ticket `row` (new_row) and its event (`event`: TicketEvent's columns but the ids),
    and load the community's managers but the creator (`event["actor_id"]`) as recipients of
    `category`. Returns the ticket, persistent in the session as a flush would leave it (later
    changes are flushed as UPDATEs), its event id and the managers."""
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the caller left pending goes first, as with session.flush()
    params = {f"t_{c.name}": row[c.name] for c in _TICKET_COLUMNS}
    params |= {f"e_{c.name}": event.get(c.name) for c in _EVENT_COLUMNS}
    told = managers_params(row["community_id"], exclude=event["actor_id"])
    name = audience.dialect(session)
    if name == "postgresql":
        rows = await _BOTH.rows(session, {**params, **told, "category": category})
        ticket_id, event_id = rows[0][0], rows[0][1]
        managers = audience.rows(sorted((r[2:] for r in rows if r[2] is not None), key=lambda r: r[0]))
    else:
        conn = await session.connection()
        ticket_id = (await conn.execute(_insert_ticket(), params)).scalar_one()
        event_id = (await conn.execute(_insert_event(), {**params, "ticket_id": ticket_id})).scalar_one()
        managers = await audience.chosen(
            session, audience.audience(managers_of_community, name), told, category
        )
    t = as_loaded(session, Ticket, {**row, "id": int(ticket_id)})
    return t, int(event_id), managers


def managers_of_community(user_id: Any, dialect_name: str) -> Any:
    """Verified property managers of `:community_id` (directly or through the company managing it
    on `:today`) other than `:exclude`: services.tickets.people.managers, as a clause."""
    mc = ManagementContract.__table__  # type: ignore[attr-defined]
    m = Membership.__table__  # type: ignore[attr-defined]
    today = sa.bindparam("today", type_=sa.Date())
    contracts = sa.select(mc.c.company_id).where(
        mc.c.community_id == sa.bindparam("community_id"),
        mc.c.starts_on <= today,
        sa.or_(mc.c.ends_on.is_(None), mc.c.ends_on >= today),
    )
    managers = sa.select(m.c.user_id).where(
        m.c.status == MembershipStatus.verified.value,
        m.c.role == Role.property_manager.value,
        sa.or_(m.c.community_id == sa.bindparam("community_id"), m.c.company_id.in_(contracts)),
    )
    return sa.and_(user_id.in_(managers), user_id != sa.bindparam("exclude"))


def managers_params(community_id: int, exclude: int) -> dict[str, Any]:
    return {"community_id": community_id, "today": date.today(), "exclude": exclude}
