"""The ticket lifecycle: one table of allowed transitions by role, and the engine that applies them.

    action        from                                   to            who
    accept        submitted                              accepted      manager
    assign        submitted, accepted, assigned          assigned      manager
    grab          submitted, accepted (unassigned)       assigned      technician
    start         assigned                               in_progress   assignee
    pause         assigned, in_progress                  paused        assignee, manager
    resume        paused                                 in_progress   assignee, manager
    resolve       in_progress                            resolved      assignee, manager
    close         resolved                               closed        reporter (system after 3 days)
    reopen        resolved, closed (low rating)          assigned      reporter, within 7 days
    cancel        submitted, accepted, assigned          cancelled     reporter
    reject        submitted, accepted                    rejected      manager
    urge          any open status                        (same)        reporter, once per 4 h
    reprioritise  any open status                        (same)        manager
    classify      any but cancelled (complaints)         (same)        manager
    dispute       any but cancelled (complaints)         (same)        committee

Every applied transition is one conditional UPDATE (… WHERE id = :id AND version = :seen AND
status = :seen_status), so two people acting on the same version cannot both win; then one
ticket_event row and the inbox notifications, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

import services.tickets.messages  # noqa: F401  (registers error texts)
from services.access import Principal
from services.errors import Conflict, DomainError, Forbidden, InvalidInput
from services.models import Role
from services.models.tickets import OPEN_STATUSES, Ticket, TicketEvent
from services.models.tickets import TicketStatus as S
from services.runtime import Ctx
from services.tickets import occupant_sms
from services.tickets.events import event_key, tell, template_data, write_event
from services.tickets.schemas import TransitionIn

REPORTER, ASSIGNEE, MANAGER, TECHNICIAN, COMMITTEE, SYSTEM = (
    "reporter",
    "assignee",
    "manager",
    "technician",
    "committee",
    "system",
)


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]
    target: str | None  # None: the status does not change
    roles: frozenset[str]


def _rule(sources: tuple[str, ...], target: str | None, *roles: str) -> Rule:
    return Rule(frozenset(sources), target, frozenset(roles))


_ANY = tuple(s.value for s in S if s != S.cancelled)
TABLE: dict[str, Rule] = {
    "accept": _rule((S.submitted,), S.accepted, MANAGER),
    "assign": _rule((S.submitted, S.accepted, S.assigned), S.assigned, MANAGER),
    "grab": _rule((S.submitted, S.accepted), S.assigned, TECHNICIAN),
    "start": _rule((S.assigned,), S.in_progress, ASSIGNEE),
    "pause": _rule((S.assigned, S.in_progress), S.paused, ASSIGNEE, MANAGER),
    "resume": _rule((S.paused,), S.in_progress, ASSIGNEE, MANAGER),
    "resolve": _rule((S.in_progress,), S.resolved, ASSIGNEE, MANAGER),
    "close": _rule((S.resolved,), S.closed, REPORTER, SYSTEM),
    "reopen": _rule((S.resolved, S.closed), S.assigned, REPORTER),
    "cancel": _rule((S.submitted, S.accepted, S.assigned), S.cancelled, REPORTER),
    "reject": _rule((S.submitted, S.accepted), S.rejected, MANAGER),
    "urge": _rule(OPEN_STATUSES, None, REPORTER),
    "reprioritise": _rule(OPEN_STATUSES, None, MANAGER),
    "classify": _rule(_ANY, None, MANAGER),
    "dispute": _rule(_ANY, None, COMMITTEE),
}


def actor_roles(principal: Principal, t: Ticket) -> frozenset[str]:
    held = principal.roles_in(t.community_id)
    roles = set()
    if principal.user_id == t.reporter_id:
        roles.add(REPORTER)
    elif t.reporter_id is None and t.occupant_id is not None and _speaks_for_occupant(principal, t, held):
        roles.add(REPORTER)  # confirms, urges or cancels for an occupant without the app
    if t.assignee_id is not None and principal.user_id == t.assignee_id:
        roles.add(ASSIGNEE)
    if Role.property_manager in held or principal.is_platform_admin:
        roles.add(MANAGER)
    if Role.property_staff in held:
        roles.add(TECHNICIAN)
    if Role.committee_member in held:
        roles.add(COMMITTEE)
    return frozenset(roles)


def _speaks_for_occupant(principal: Principal, t: Ticket, held: frozenset[str]) -> bool:
    """Whoever recorded the ticket, the property manager or the community office — not the
    technicians doing the work, who must not confirm their own job for the resident."""
    if t.assignee_id is not None and principal.user_id == t.assignee_id:
        return False
    return (
        principal.user_id == t.created_by_id
        or principal.is_platform_admin
        or bool({Role.property_manager, Role.community_admin} & held)
    )


@dataclass(frozen=True)
class Facts:
    """What the state rules read besides the ticket row: the moment, the after-photos, the rating."""

    now: datetime
    after_photos: int = 0
    rated_at: datetime | None = None  # when the reporter first rated (None: not rated)


# Per-action state rules beyond the table (time windows, photos, complaint kind): each raises the
# refusal the transition answers. check() runs them before a transition and allowed_actions() asks
# them, so what the app offers is exactly what the API accepts.
Guard = Callable[[Ticket, Facts], None]
GUARDS: dict[str, Guard] = {}


def guards(*actions: str) -> Callable[[Guard], Guard]:
    def register(fn: Guard) -> Guard:
        for action in actions:
            GUARDS[action] = fn
        return fn

    return register


# Rating is not a status change (POST /rating), but the app offers it beside the transitions.
RATE = _rule((S.resolved, S.closed), None, REPORTER)


def refusal(action: str, t: Ticket, roles: frozenset[str], facts: Facts) -> DomainError | None:
    """Why `action` would be refused now (wrong state 422, wrong role 403, a guard), or None."""
    import services.tickets.actions  # noqa: F401  (fills GUARDS)

    rule = RATE if action == "rate" else TABLE[action]
    if t.status not in rule.sources:
        if action == "rate":
            return InvalidInput("ticket.rating_not_allowed", details={"status": t.status})
        return InvalidInput("ticket.invalid_transition", details={"status": t.status, "action": action})
    if not rule.roles & roles:
        return Forbidden()
    guard = GUARDS.get(action)
    if guard is not None:
        try:
            guard(t, facts)
        except DomainError as exc:
            return exc
    return None


def allowed_actions(principal: Principal, t: Ticket, facts: Facts) -> list[str]:
    roles = actor_roles(principal, t)
    return [action for action in (*TABLE, "rate") if refusal(action, t, roles, facts) is None]


@dataclass
class Call:
    """What a handler sees: the ticket as loaded, the request, the moment and the actor."""

    session: AsyncSession
    ctx: Ctx | None
    ticket: Ticket
    body: TransitionIn
    now: datetime
    actor_id: int | None


@dataclass
class Outcome:
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # (recipients, template); the actor never notifies themselves.
    notify: list[tuple[list[int | None], str]] = field(default_factory=list)
    extra_where: list[Any] = field(default_factory=list)
    conflict_code: str = "ticket.version_conflict"
    template_extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Outcome]]
HANDLERS: dict[str, Handler] = {}


def handles(*actions: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for action in actions:
            HANDLERS[action] = fn
        return fn

    return register


def check(t: Ticket, action: str, version: int, roles: frozenset[str], facts: Facts) -> Rule:
    """Stale version 409, wrong state 422, wrong role 403, then the action's guard — in that order."""
    if version != t.version:
        raise Conflict("ticket.version_conflict", details={"version": t.version})
    refused = refusal(action, t, roles, facts)
    if refused is not None:
        raise refused
    return TABLE[action]


async def apply(call: Call, action: str) -> TicketEvent:
    """Run the handler, write the ticket with a conditional UPDATE, log the event, notify."""
    import services.tickets.actions  # noqa: F401  (fills HANDLERS)

    t = call.ticket
    rule = TABLE[action]
    outcome = await HANDLERS[action](call)
    from_status = t.status
    to_status = rule.target or t.status
    values = {**outcome.values, "status": to_status, "version": t.version + 1, "updated_at": call.now}
    table = Ticket.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.update(table)
        .where(table.c.id == t.id, table.c.version == t.version, table.c.status == from_status)
        .where(*outcome.extra_where)
        .values(**values)
    )
    try:
        result = await call.session.execute(stmt)
    except OperationalError as exc:
        # SQLite: a concurrent writer committed first and our snapshot is stale ("database is locked").
        if "locked" in str(exc).lower():
            raise Conflict(outcome.conflict_code) from exc
        raise
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(outcome.conflict_code)
    for key, value in values.items():
        set_committed_value(t, key, value)
    event = await write_event(
        call.session,
        t,
        action,
        actor_id=call.actor_id,
        from_status=from_status,
        to_status=to_status,
        reason=outcome.reason,
        data=outcome.data,
        at=call.now,
    )
    data = template_data(t, **{"reason": outcome.reason, **outcome.template_extra})
    for recipients, template in outcome.notify:
        await tell(call.session, t, recipients, template, event_key(t, event), data, exclude=call.actor_id)
    if t.occupant_id is not None:
        sms_extra = {"reason": outcome.reason, **outcome.template_extra}
        await occupant_sms.on_status(call.session, t, from_status, event_key(t, event), sms_extra)
    if to_status == S.closed and t.intake_channel == "alarm":
        from services.alarms.tickets import on_ticket_closed  # lazy: services.alarms imports tickets

        await on_ticket_closed(call.session, t, call.actor_id, call.now)
    return event


def require_text(value: str | None, code: str = "ticket.reason_required") -> str:
    if value is None or not value.strip():
        raise InvalidInput(code)
    return value.strip()
