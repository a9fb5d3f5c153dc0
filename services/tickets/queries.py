"""Reading tickets: who sees what (one WHERE clause), lists, badge counts, detail and events.

Lists are the hot path (DESIGN §7): one Core statement selecting columns, keyset on id DESC,
no ORM objects and no per-row queries; the route serialises the dicts with orjson.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import Principal
from services.driver_sql import DriverStatement, in_values
from services.errors import NotFound
from services.labels import label, labelled
from services.models import Role, utcnow
from services.models.tickets import Ticket, TicketEvent, TicketKind, TicketStatus
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.tickets.schemas import EVENT_LABELS, LIST_LABELS, TicketCounts, TicketEventOut, TicketListItem

T = Ticket.__table__.c  # type: ignore[attr-defined]
READ_ALL = frozenset({Role.property_manager, Role.committee_member, Role.community_admin})
# Complaints about a staff member (about_staff_id): the property manager and the committee only.
READ_STAFF_COMPLAINTS = frozenset({Role.property_manager, Role.committee_member})
QUEUE_STATUSES = (TicketStatus.submitted, TicketStatus.accepted)
NEIGHBOUR = "neighbour"  # complaint_target of a complaint about another resident
RUNNING = (TicketStatus.submitted, TicketStatus.accepted, TicketStatus.assigned, TicketStatus.in_progress)
BADGE_STATUSES = (*RUNNING, TicketStatus.paused, TicketStatus.resolved)
COUNT_CAP = 10_000
LIST_COLUMNS = [
    getattr(T, name)
    for name in TicketListItem.model_fields
    if name != "overdue" and not name.endswith("_label")
]
LIST_KEYS = tuple(c.name for c in LIST_COLUMNS)
_ID, _STATUS, _RESPONSE_DUE, _RESOLUTION_DUE = (
    LIST_KEYS.index(n) for n in ("id", "status", "response_due_at", "resolution_due_at")
)


@dataclass(frozen=True)
class ScopeShape:
    """Which branches scope() has for a principal who is not a platform admin: a statement built once
    per shape binds the principal's ids as parameters (Binds)."""

    member: bool  # holds a verified role somewhere (community_filter is an IN list, else false)
    homes: bool
    full: bool
    others: bool
    staff: bool
    grab_queue: bool


class Binds:
    """How a clause gets its values: inline (`values` given: a statement built for this request) or as
    named bound parameters of a statement built once per shape and run many times (`values` None; the
    caller passes them by name, IN lists as one array: services.driver_sql.in_values)."""

    def __init__(self, values: dict[str, Any] | None, dialect: Dialect | None = None) -> None:
        self.values, self.dialect = values, dialect

    def value(self, name: str, type_: Any) -> Any:
        if self.values is None:
            return sa.bindparam(name, type_=type_)
        return sa.bindparam(name, self.values[name], type_=type_)

    def in_(self, column: Any, name: str) -> Any:
        if self.values is None:
            assert self.dialect is not None
            return in_values(column, name, self.dialect)
        return column.in_(self.values[name])

    def among(self, column: Any, constants: tuple[Any, ...]) -> Any:
        """`column IN constants`, the constants the statement's own."""
        if self.values is None:
            assert self.dialect is not None
            return in_values(column, None, self.dialect, constants)
        return column.in_(constants)


def scope_shape(principal: Principal, grab_queue: bool) -> tuple[ScopeShape | None, dict[str, Any]]:
    """scope()'s shape (None: a platform admin, who reads everything) and its values."""
    if principal.is_platform_admin:
        return None, {}
    by_community = principal.community_roles.items()
    full = sorted(c for c, roles in by_community if roles & READ_STAFF_COMPLAINTS)
    values: dict[str, Any] = {
        "me": principal.user_id,
        "communities": sorted(principal.member_community_ids),
        "homes": sorted({h for per in principal.households.values() for h in per}),
        "full": full,
        "others": sorted(c for c, roles in by_community if roles & READ_ALL and c not in full),
        "staff": sorted(c for c, roles in by_community if Role.property_staff in roles),
    }
    shape = ScopeShape(
        bool(values["communities"]),
        bool(values["homes"]),
        bool(full),
        bool(values["others"]),
        bool(values["staff"]),
        grab_queue,
    )
    return shape, values


def scope_branches(shape: ScopeShape, b: Binds) -> list[Any]:
    """scope() as alternatives, each selective through an index of its own (a list reads each one's
    page from its index and merges them: _page_ids). Managers, committee and community admins: the
    whole community; technicians: their own and (for grabbing) the unassigned queue; residents:
    their households' tickets and those filed for them. Each within the communities of a verified
    role (member)."""
    me = b.value("me", T.reporter_id.type)
    member = b.in_(T.community_id, "communities") if shape.member else sa.false()
    ors: list[Any] = [T.reporter_id == me]
    if shape.homes:
        # A complaint is sensitive personal information (PIPL): its reporter reads it, not the
        # rest of the household; repairs are the household's.
        ors.append(sa.and_(b.in_(T.household_id, "homes"), T.kind != TicketKind.complaint))
    if shape.full:
        ors.append(b.in_(T.community_id, "full"))
    if shape.others:
        ors.append(sa.and_(b.in_(T.community_id, "others"), T.about_staff_id.is_(None)))
    if shape.staff:
        mine = [T.assignee_id == me, T.created_by_id == me]
        if shape.grab_queue:
            # A complaint about a neighbour is not in the grab queue: a dispute between residents
            # is sensitive personal information (issue 20); a technician reads one only once the
            # manager assigns it. Complaints about the service or a facility are work to grab.
            mine.append(
                sa.and_(
                    T.assignee_id.is_(None),
                    b.among(T.status, QUEUE_STATUSES),
                    sa.or_(T.kind != TicketKind.complaint, T.complaint_target != NEIGHBOUR),
                )
            )
        # Never a complaint about staff, not even one they filed at the desk or were assigned.
        staff = sa.and_(b.in_(T.community_id, "staff"), T.about_staff_id.is_(None))
        ors += [sa.and_(staff, one) for one in mine]
    return [sa.and_(member, one) for one in ors]


def scope_clause(shape: ScopeShape | None, b: Binds) -> Any:
    """Tickets the principal may read (scope_branches, or'ed); everything for a platform admin."""
    return sa.true() if shape is None else sa.or_(*scope_branches(shape, b))


def scope(principal: Principal, *, grab_queue: bool = True) -> Any:
    """scope_clause for this principal, values inline."""
    shape, values = scope_shape(principal, grab_queue)
    return scope_clause(shape, Binds(values))


async def load_visible(ctx: Ctx, ticket_id: int) -> Ticket:
    principal = ctx.require_principal()
    row = (
        await ctx.session.exec(select(Ticket).where(col(Ticket.id) == ticket_id, scope(principal)))
    ).first()
    if row is None:
        raise NotFound("ticket.not_found")
    return row


async def taken_from_queue(ctx: Ctx, ticket_id: int) -> bool:
    """Whether the ticket is in the hands of someone else in a community where the principal is
    property staff: what a technician who lost the grab race asks (they may see the queue, so
    this tells them nothing they could not have seen a moment before)."""
    principal = ctx.require_principal()
    staff = sorted(c for c, roles in principal.community_roles.items() if Role.property_staff in roles)
    if not staff:
        return False
    stmt = sa.select(T.id).where(
        T.id == ticket_id,
        T.community_id.in_(staff),
        T.about_staff_id.is_(None),
        T.assignee_id.is_not(None),
        T.assignee_id != principal.user_id,
    )
    return (await ctx.session.execute(stmt)).first() is not None


async def status_changed_since(ctx: Ctx, t: Ticket, since: datetime) -> bool:
    E = TicketEvent.__table__.c  # type: ignore[attr-defined]
    stmt = sa.select(E.id).where(
        E.ticket_id == t.id, E.created_at >= since, E.from_status.is_not(None), E.from_status != E.to_status
    )
    return (await ctx.session.execute(stmt.limit(1))).first() is not None


def is_overdue(
    status: str, response_due: datetime | None, resolution_due: datetime | None, now: datetime
) -> bool:
    if status == TicketStatus.submitted and response_due is not None and response_due < now:
        return True
    return status in RUNNING and resolution_due is not None and resolution_due < now


def _overdue_clause(now: Any, b: Binds) -> Any:
    return sa.or_(
        sa.and_(T.status == TicketStatus.submitted, T.response_due_at < now),
        sa.and_(b.among(T.status, RUNNING), T.resolution_due_at < now),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


Part = tuple[Any, ...]
EQUAL_FILTERS = ("community_id", "kind", "category", "building_id", "household_id", "priority")


def _reads_whole(principal: Principal, community_id: Any) -> bool:
    """Whether scope() admits every ticket of the community: a platform admin, a property manager or
    committee member there (the READ_STAFF_COMPLAINTS branch of scope() has no other condition)."""
    if principal.is_platform_admin:
        return True
    return bool(principal.roles_in(community_id) & READ_STAFF_COMPLAINTS)


def _reach_part(principal: Principal, f: dict[str, Any], values: dict[str, Any]) -> Part:
    """Who may read what, as the list's first clause.

    The technician's own list (queue=assigned) is scope() ∧ assignee = me, written so the planner
    sees one selective predicate: with the full OR of scope() it expected ~10 rows and read ~4,900
    (13.6 ms at 1M tickets; 0.9 ms this way — docs/benchmarks.md, tickets).

    Otherwise scope(), written as the plain predicate when that is what it amounts to. Within a
    community the caller reads whole, scope() ∧ community_id = c is just community_id = c (the filter
    loop adds it): with scope()'s IN lists and ORs beside it, PostgreSQL walked pk_ticket backwards
    past every newer ticket of other communities and statuses, while alone (community_id, status)
    lets the page's ids come from an index-only scan of ix_ticket_community_status_id
    (docs/benchmarks.md, "Ticket list behind a backlog", issue 17). Likewise a caller reading all
    their communities whole gets one IN list."""
    values["me"] = principal.user_id
    if f.get("queue") == "assigned":
        if principal.is_platform_admin:
            return ("assigned", "all")
        values["reach"] = sorted(
            c
            for c, roles in principal.community_roles.items()
            if roles & READ_ALL or Role.property_staff in roles
        )
        return ("assigned", "some" if values["reach"] else "none")
    if f.get("community_id") is not None and _reads_whole(principal, f["community_id"]):
        return ("whole",)
    members = principal.member_community_ids
    if members and all(_reads_whole(principal, c) for c in members):
        values["communities"] = sorted(members)
        return ("members",)
    shape, scope_values = scope_shape(principal, f.get("queue") == "grab")
    values.update(scope_values)
    return ("whole",) if shape is None else ("scope", shape)


def _parts(principal: Principal, f: dict[str, Any], now: datetime) -> tuple[tuple[Part, ...], dict[str, Any]]:
    """The list's WHERE as a shape (hashable: statements are built once per shape) and its values."""
    values: dict[str, Any] = {}
    parts = [_reach_part(principal, f, values)]
    if f.get("queue") == "grab":
        parts.append(("grab",))
    if f.get("status"):
        # One status binds as `status = $n`: as `= ANY($n)` PostgreSQL cannot read the page in id
        # order from ix_ticket_community_status_id and walked pk_ticket backwards past every newer
        # ticket of another status (3.2 ms behind 29,000 new open tickets, 0.09 ms this way).
        statuses = list(dict.fromkeys(f["status"]))
        parts.append(("status", len(statuses) == 1))
        values["status"] = statuses[0] if len(statuses) == 1 else statuses
    for name in EQUAL_FILTERS:
        if f.get(name) is not None:
            parts.append(("equal", name))
            values[name] = f[name]
    if f.get("valid") is not None:
        parts.append(("valid", f["valid"]))
    if f.get("overdue") is not None:
        parts.append(("overdue", f["overdue"]))
        values["now"] = now
    for name in ("created_from", "created_to"):
        if f.get(name) is not None:
            parts.append((name,))
            values[name] = f[name]
    if f.get("q"):
        parts.append(("q",))
        values["pattern"] = f"%{_escape_like(f['q'])}%"
    return tuple(parts), values


def _clause(part: Part, b: Binds) -> Any:
    match part:
        case ("scope", shape):
            return scope_clause(shape, b)
        case ("whole",):
            return sa.true()
        case ("members",):
            return b.in_(T.community_id, "communities")
        case ("assigned", reach):
            mine = T.assignee_id == b.value("me", T.assignee_id.type)
            if reach == "all":
                return mine
            return sa.and_(mine, b.in_(T.community_id, "reach")) if reach == "some" else sa.false()
        case ("grab",):
            return sa.and_(T.assignee_id.is_(None), b.among(T.status, QUEUE_STATUSES))
        case ("status", True):
            return T.status == b.value("status", T.status.type)
        case ("status", False):
            return b.in_(T.status, "status")
        case ("equal", name):
            column = getattr(T, name)
            return column == b.value(name, column.type)
        case ("valid", valid):
            return T.complaint_valid.is_(valid)
        case ("overdue", overdue):
            late = _overdue_clause(b.value("now", T.response_due_at.type), b)
            return late if overdue else sa.not_(late)
        case ("created_from",):
            return T.created_at >= b.value("created_from", T.created_at.type)
        case ("created_to",):
            return T.created_at < b.value("created_to", T.created_at.type)
        case ("q",):
            pattern = b.value("pattern", T.title.type)
            return sa.or_(T.title.ilike(pattern, escape="\\"), T.description.ilike(pattern, escape="\\"))
    raise ValueError(part)


def _filters(principal: Principal, f: dict[str, Any], now: datetime) -> list[Any]:
    parts, values = _parts(principal, f, now)
    b = Binds(values)
    return [_clause(p, b) for p in parts]


def _page_ids(parts: tuple[Part, ...], after: bool, b: Binds) -> Any:
    """The page's ids, newest first. When scope() has alternatives, each one's page is read on its
    own and the pages merged: an OR of them let PostgreSQL only walk pk_ticket backwards through
    every community's tickets, filtering (a technician's list 2–20 ms, a search 65 ms; the manager's
    ?queue=assigned 445 ms), while alone each takes its index: reporter, household, assignee, creator,
    the queue (docs/benchmarks.md, 2026-12-06)."""
    head, rest = parts[0], parts[1:]
    others = [_clause(p, b) for p in rest]
    if after:
        others.append(T.id < b.value("after", T.id.type))
    limit = b.value("limit", sa.Integer())
    branches = scope_branches(head[1], b) if head[0] == "scope" else [_clause(head, b)]
    if len(branches) == 1:
        return sa.select(T.id).where(branches[0], *others).order_by(T.id.desc()).limit(limit)
    pages = [
        sa.select(T.id).where(one, *others).order_by(T.id.desc()).limit(limit).subquery() for one in branches
    ]
    merged = sa.union(*(sa.select(page.c.id) for page in pages)).subquery()
    return sa.select(merged.c.id).order_by(merged.c.id.desc()).limit(limit)


def _list_select(parts: tuple[Part, ...], after: bool, b: Binds) -> Any:
    """A deferred join: the page's ids first (ORDER BY id DESC LIMIT n, reading only the columns of
    the WHERE, so with the plain predicate an index-only scan answers it), then their rows by primary
    key. The planner prices a backward walk of pk_ticket as if matches were spread evenly; it
    was skipping thousands of newer open tickets to find 20 closed ones (issue 17)."""
    page = _page_ids(parts, after, b)
    return sa.select(*LIST_COLUMNS).where(T.id.in_(page.scalar_subquery())).order_by(T.id.desc())


def _counts_select(parts: tuple[Part, ...], b: Binds) -> Any:
    where = [_clause(p, b) for p in parts]
    inner = sa.select(T.status).where(*where, b.among(T.status, BADGE_STATUSES)).limit(COUNT_CAP).subquery()
    return sa.select(inner.c.status, sa.func.count()).group_by(inner.c.status)


# Built once per shape of request (which scope branches and filters it has) and run on the driver
# (services.driver_sql): building and compiling the list's statement per request was most of its CPU.
@lru_cache(maxsize=512)
def _list_statement(parts: tuple[Part, ...], after: bool) -> DriverStatement:
    return DriverStatement(lambda dialect: _list_select(parts, after, Binds(None, dialect)))


@lru_cache(maxsize=128)
def _counts_statement(parts: tuple[Part, ...]) -> DriverStatement:
    return DriverStatement(lambda dialect: _counts_select(parts, Binds(None, dialect)))


def _page_request(
    principal: Principal, filters: dict[str, Any], after: int | None, limit: int, now: datetime
) -> tuple[tuple[Part, ...], dict[str, Any]]:
    parts, values = _parts(principal, filters, now)
    values.update(after=after, limit=limit)
    return parts, values


def list_statement(
    principal: Principal, filters: dict[str, Any], after: int | None, limit: int, now: datetime
) -> Any:
    """The list's statement for one request with its values inline (the tests' oracle)."""
    parts, values = _page_request(principal, filters, after, limit, now)
    return _list_select(parts, after is not None, Binds(values))


def list_bound(
    principal: Principal,
    filters: dict[str, Any],
    after: int | None,
    limit: int,
    now: datetime,
    dialect: Dialect,
) -> tuple[str, list[Any]]:
    """The list's SQL and arguments for one request exactly as the driver sends them (for EXPLAIN in
    bench/: with the values inline, `IN ('closed')` planned as an equality and hid that the bound
    `= ANY($n)` walked pk_ticket)."""
    parts, values = _page_request(principal, filters, after, limit, now)
    return _list_statement(parts, after is not None).bound(dialect, values)


async def list_tickets(ctx: Ctx, limit: int, cursor: str | None, filters: dict[str, Any]) -> dict[str, Any]:
    """A page as plain dicts (the route renders them with orjson): one statement per page."""
    principal = ctx.require_principal()
    now = utcnow()
    after = id_after(cursor)
    parts, values = _page_request(principal, filters, after, limit, now)
    rows = await _list_statement(parts, after is not None).rows(ctx.session, values)
    items = []
    for row in rows:
        item = dict(zip(LIST_KEYS, row, strict=True))
        item["overdue"] = is_overdue(row[_STATUS], row[_RESPONSE_DUE], row[_RESOLUTION_DUE], now)
        items.append(labelled(item, ctx.locale, LIST_LABELS))
    return {"items": items, "next_cursor": next_id_cursor([r[_ID] for r in rows], limit)}


async def counts(ctx: Ctx, filters: dict[str, Any]) -> TicketCounts:
    """Badge counts of the statuses that need attention, over at most COUNT_CAP rows."""
    principal = ctx.require_principal()
    parts, values = _parts(principal, {k: v for k, v in filters.items() if k != "status"}, utcnow())
    rows = await _counts_statement(parts).rows(ctx.session, values)
    found = {status: int(n) for status, n in rows}
    return TicketCounts(
        counts={s.value: found.get(s.value, 0) for s in BADGE_STATUSES},
        capped=sum(found.values()) >= COUNT_CAP,
    )


async def list_events(ctx: Ctx, ticket_id: int) -> list[TicketEventOut]:
    t = await load_visible(ctx, ticket_id)
    rows = (
        await ctx.session.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(col(TicketEvent.id))
        )
    ).all()
    return [_event_out(e, ctx.locale) for e in rows]


_REASON_GROUPS = {"pause": "ticket.pause_reason", "reject": "ticket.reject_reason"}


def _event_out(e: TicketEvent, locale: str) -> TicketEventOut:
    item = labelled(TicketEventOut.model_validate(e).model_dump(), locale, EVENT_LABELS)
    group = _REASON_GROUPS.get(e.action)
    if group and e.reason:
        item["reason_label"] = label(group, e.reason, locale)
    return TicketEventOut.model_validate(item)


async def source_alarm_id(session: AsyncSession, t: Ticket) -> int | None:
    """The alarm a ticket was turned from (alarm.ticket_id, unique): looked up for alarm tickets only."""
    if t.intake_channel != "alarm" or t.id is None:
        return None
    from services.models.alarms import Alarm  # the table only: services.tickets never imports services.alarms

    return (await session.exec(select(Alarm.id).where(Alarm.ticket_id == t.id))).first()
