"""Reading tickets: who sees what (one WHERE clause), lists, badge counts, detail and events.

Lists are the hot path (DESIGN §7): one Core statement selecting columns, keyset on id DESC,
no ORM objects and no per-row queries; the route serialises the dicts with orjson.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import Principal, community_filter
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


def scope(principal: Principal, *, grab_queue: bool = True) -> Any:
    """Tickets the principal may read. Managers, committee and community admins: the whole
    community; technicians: their own and (for grabbing) the unassigned queue; residents: their
    households' tickets and those filed for them."""
    if principal.is_platform_admin:
        return sa.true()
    me = principal.user_id
    ors: list[Any] = [T.reporter_id == me]
    homes = sorted({h for per in principal.households.values() for h in per})
    if homes:
        # A complaint is sensitive personal information (PIPL): its reporter reads it, not the
        # rest of the household; repairs are the household's.
        ors.append(sa.and_(T.household_id.in_(homes), T.kind != TicketKind.complaint))
    roles_by_community = principal.community_roles.items()
    full = sorted(c for c, roles in roles_by_community if roles & READ_STAFF_COMPLAINTS)
    if full:
        ors.append(T.community_id.in_(full))
    others = sorted(c for c, roles in roles_by_community if roles & READ_ALL and c not in full)
    if others:
        ors.append(sa.and_(T.community_id.in_(others), T.about_staff_id.is_(None)))
    staff = sorted(c for c, roles in roles_by_community if Role.property_staff in roles)
    if staff:
        mine = [T.assignee_id == me, T.created_by_id == me]
        if grab_queue:
            # A complaint about a neighbour is not in the grab queue: a dispute between residents
            # is sensitive personal information (issue 20); a technician reads one only once the
            # manager assigns it. Complaints about the service or a facility are work to grab.
            mine.append(
                sa.and_(
                    T.assignee_id.is_(None),
                    T.status.in_(QUEUE_STATUSES),
                    sa.or_(T.kind != TicketKind.complaint, T.complaint_target != NEIGHBOUR),
                )
            )
        # Never a complaint about staff, not even one they filed at the desk or were assigned.
        ors.append(sa.and_(T.community_id.in_(staff), T.about_staff_id.is_(None), sa.or_(*mine)))
    return sa.and_(community_filter(principal, T.community_id), sa.or_(*ors))


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


def _overdue_clause(now: datetime) -> Any:
    return sa.or_(
        sa.and_(T.status == TicketStatus.submitted, T.response_due_at < now),
        sa.and_(T.status.in_(RUNNING), T.resolution_due_at < now),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _assigned_to_me(principal: Principal) -> Any:
    """The technician's own list. Equivalent to scope() ∧ assignee = me, but written so the planner
    sees one selective predicate: with the full OR of scope() it expected ~10 rows and read ~4,900
    (13.6 ms at 1M tickets; 0.9 ms this way — docs/benchmarks.md, tickets)."""
    if principal.is_platform_admin:
        return T.assignee_id == principal.user_id
    reach = sorted(
        c
        for c, roles in principal.community_roles.items()
        if roles & READ_ALL or Role.property_staff in roles
    )
    return sa.and_(T.assignee_id == principal.user_id, T.community_id.in_(reach) if reach else sa.false())


def _reads_whole(principal: Principal, community_id: Any) -> bool:
    """Whether scope() admits every ticket of the community: a platform admin, a property manager or
    committee member there (the READ_STAFF_COMPLAINTS branch of scope() has no other condition)."""
    if principal.is_platform_admin:
        return True
    return bool(principal.roles_in(community_id) & READ_STAFF_COMPLAINTS)


def _scope_for(principal: Principal, f: dict[str, Any]) -> Any:
    """scope(), written as the plain predicate when that is what it amounts to. Within a community the
    caller reads whole, scope() ∧ community_id = c is just community_id = c (the filter loop adds
    it): with scope()'s IN lists and ORs beside it, PostgreSQL walked pk_ticket backwards past every
    newer ticket of other communities and statuses, while alone (community_id, status) lets the
    page's ids come from an index-only scan of ix_ticket_community_status_id (docs/benchmarks.md,
    "Ticket list behind a backlog", issue 17). Likewise a caller reading all their communities whole
    gets one IN list."""
    grab = f.get("queue") == "grab"
    if principal.is_platform_admin:
        return scope(principal, grab_queue=grab)
    if f.get("community_id") is not None and _reads_whole(principal, f["community_id"]):
        return sa.true()
    members = principal.member_community_ids
    if members and all(_reads_whole(principal, c) for c in members):
        return T.community_id.in_(sorted(members))
    return scope(principal, grab_queue=grab)


def _filters(principal: Principal, f: dict[str, Any], now: datetime) -> list[Any]:
    if f.get("queue") == "assigned":
        where: list[Any] = [_assigned_to_me(principal)]
    else:
        where = [_scope_for(principal, f)]
    if f.get("queue") == "grab":
        where += [T.assignee_id.is_(None), T.status.in_(QUEUE_STATUSES)]
    if f.get("status"):
        where.append(T.status.in_(f["status"]))
    for name in ("community_id", "kind", "category", "building_id", "household_id", "priority"):
        if f.get(name) is not None:
            where.append(getattr(T, name) == f[name])
    if f.get("valid") is not None:
        where.append(T.complaint_valid.is_(f["valid"]))
    if f.get("overdue") is True:
        where.append(_overdue_clause(now))
    elif f.get("overdue") is False:
        where.append(sa.not_(_overdue_clause(now)))
    if f.get("created_from") is not None:
        where.append(T.created_at >= f["created_from"])
    if f.get("created_to") is not None:
        where.append(T.created_at < f["created_to"])
    if f.get("q"):
        pattern = f"%{_escape_like(f['q'])}%"
        where.append(sa.or_(T.title.ilike(pattern, escape="\\"), T.description.ilike(pattern, escape="\\")))
    return where


def list_statement(
    principal: Principal, filters: dict[str, Any], after: int | None, limit: int, now: datetime
) -> Any:
    """A deferred join: the page's ids first (ORDER BY id DESC LIMIT n, reading only the columns of
    the WHERE, so with the plain predicate an index-only scan answers it), then their rows by primary
    key. The planner prices a backward walk of pk_ticket as if matches were spread evenly; it
    was skipping thousands of newer open tickets to find 20 closed ones (issue 17)."""
    ids = sa.select(T.id).where(*_filters(principal, filters, now))
    if after is not None:
        ids = ids.where(T.id < after)
    page = ids.order_by(T.id.desc()).limit(limit)
    return sa.select(*LIST_COLUMNS).where(T.id.in_(page.scalar_subquery())).order_by(T.id.desc())


async def list_tickets(ctx: Ctx, limit: int, cursor: str | None, filters: dict[str, Any]) -> dict[str, Any]:
    """A page as plain dicts (the route renders them with orjson): one statement per page."""
    principal = ctx.require_principal()
    now = utcnow()
    rows = (
        (await ctx.session.execute(list_statement(principal, filters, id_after(cursor), limit, now)))
        .mappings()
        .all()
    )
    items = []
    for row in rows:
        item = dict(row)
        item["overdue"] = is_overdue(row["status"], row["response_due_at"], row["resolution_due_at"], now)
        items.append(labelled(item, ctx.locale, LIST_LABELS))
    return {"items": items, "next_cursor": next_id_cursor([r["id"] for r in rows], limit)}


async def counts(ctx: Ctx, filters: dict[str, Any]) -> TicketCounts:
    """Badge counts of the statuses that need attention, over at most COUNT_CAP rows."""
    principal = ctx.require_principal()
    where = _filters(principal, {k: v for k, v in filters.items() if k != "status"}, utcnow())
    inner = sa.select(T.status).where(*where, T.status.in_(BADGE_STATUSES)).limit(COUNT_CAP).subquery()
    rows = (
        await ctx.session.execute(sa.select(inner.c.status, sa.func.count()).group_by(inner.c.status))
    ).all()
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
