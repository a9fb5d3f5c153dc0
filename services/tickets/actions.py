"""What each lifecycle action checks, changes and tells (the table lives in transitions.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from services.errors import Conflict, InvalidInput, RateLimited
from services.labels import en, zh
from services.models import User
from services.models.tickets import Ticket
from services.models.tickets import TicketStatus as S
from services.tickets import deadlines, people
from services.tickets.schemas import PauseReason, RejectReason
from services.tickets.transitions import Call, Facts, Outcome, guards, handles, require_text

URGE_EVERY = timedelta(hours=4)
REOPEN_WITHIN = timedelta(days=7)
RATING_EDITABLE_FOR = timedelta(days=7)
LOW_RATING = 2


# --- guards: the state rules beyond the table, shared by check() and allowed_actions() -------------


@guards("grab")
def _not_taken(t: Ticket, facts: Facts) -> None:
    if t.assignee_id is not None:
        raise Conflict("ticket.already_taken")


@guards("resolve")
def _has_after_photo(t: Ticket, facts: Facts) -> None:
    if facts.after_photos < 1:
        raise InvalidInput("ticket.after_photo_required")


@guards("reopen")
def _reopenable(t: Ticket, facts: Facts) -> None:
    if t.resolved_at is None or facts.now - t.resolved_at > REOPEN_WITHIN:
        raise InvalidInput("ticket.reopen_window_closed")
    if t.status == S.closed and (t.rating_overall is None or t.rating_overall > LOW_RATING):
        # A closed ticket comes back only after a low rating.
        raise InvalidInput("ticket.invalid_transition", details={"status": t.status, "action": "reopen"})


@guards("urge")
def _not_urged_lately(t: Ticket, facts: Facts) -> None:
    if t.last_urged_at is not None and facts.now - t.last_urged_at < URGE_EVERY:
        wait = URGE_EVERY - (facts.now - t.last_urged_at)
        raise RateLimited(int(wait.total_seconds()) + 1, "ticket.urge_too_soon")


@guards("classify")
def _complaint(t: Ticket, facts: Facts) -> None:
    if t.kind != "complaint":
        raise InvalidInput("ticket.complaint_only")


@guards("dispute")
def _disputable(t: Ticket, facts: Facts) -> None:
    _complaint(t, facts)
    if t.complaint_valid is not False:
        raise InvalidInput("ticket.not_classified_invalid")


@guards("rate")
def _rateable(t: Ticket, facts: Facts) -> None:
    if t.resolved_at is None:
        raise InvalidInput("ticket.rating_not_allowed", details={"status": t.status})
    if facts.rated_at is not None and facts.now - facts.rated_at > RATING_EDITABLE_FOR:
        raise Conflict("ticket.rating_locked", details={"rated_at": facts.rated_at.isoformat()})


# --- handlers ----------------------------------------------------------------------------------------


async def _name(call: Call, user_id: int) -> str:
    user = await call.session.get(User, user_id)
    return user.name if user is not None else str(user_id)


@handles("accept")
async def _accept(call: Call) -> Outcome:
    t = call.ticket
    return Outcome(values={"accepted_at": call.now}, notify=[([t.reporter_id], "ticket.accepted")])


@handles("assign", "grab")
async def _assign(call: Call) -> Outcome:
    t = call.ticket
    table = Ticket.__table__  # type: ignore[attr-defined]
    out = Outcome()
    if call.body.action == "grab":
        assert call.actor_id is not None
        assignee = call.actor_id
        # The guard that makes two simultaneous grabs end with exactly one winner.
        out.extra_where.append(table.c.assignee_id.is_(None))
        out.conflict_code = "ticket.already_taken"
    else:
        if call.body.assignee_id is None:
            raise InvalidInput("ticket.assignee_required")
        assignee = call.body.assignee_id
        if not await people.is_property_staff(call.session, t.community_id, assignee):
            raise InvalidInput("ticket.assignee_invalid")
        if t.about_staff_id is not None and assignee not in await people.managers(
            call.session, t.community_id
        ):
            # A complaint about staff stays with the managers: no technician may read it.
            raise InvalidInput("ticket.assignee_invalid", details={"reason": "staff_complaint"})
    out.values = {"assignee_id": assignee, "assigned_at": call.now}
    if t.accepted_at is None:
        out.values["accepted_at"] = call.now  # assigning answers the ticket: the response clock stops
    out.data = {"assignee_id": assignee, "previous_assignee_id": t.assignee_id, "mode": call.body.action}
    out.template_extra = {"assignee": await _name(call, assignee)}
    out.notify = [([t.reporter_id], "ticket.assigned"), ([assignee], "ticket.assigned_to_you")]
    if t.assignee_id is not None and t.assignee_id != assignee:
        # Reassigned: the technician taken off the ticket must not turn up at the door.
        out.notify.append(([t.assignee_id], "ticket.unassigned"))
    return out


@handles("start")
async def _start(call: Call) -> Outcome:
    t = call.ticket
    return Outcome(
        values={"started_at": t.started_at or call.now}, notify=[([t.reporter_id], "ticket.started")]
    )


@handles("pause")
async def _pause(call: Call) -> Outcome:
    t = call.ticket
    code = require_text(call.body.reason_code)
    if code not in get_args(PauseReason):
        raise InvalidInput("ticket.reason_required", details={"allowed": list(get_args(PauseReason))})
    policy = await deadlines.policy_for(call.session, t)
    values = deadlines.on_pause(t, call.now, policy) | {"pause_reason": code}
    note = (call.body.note or call.body.reason or "").strip()
    return Outcome(
        values=values,
        reason=code,
        data={"note": note, **_jsonable(values)},
        notify=[([t.reporter_id], "ticket.paused")],
        template_extra=_reason_words("ticket.pause_reason", code, note, "（{}）", " ({})"),
    )


@handles("resume")
async def _resume(call: Call) -> Outcome:
    t = call.ticket
    policy = await deadlines.policy_for(call.session, t)
    values = deadlines.on_resume(t, call.now, policy)
    return Outcome(values=values, data=_jsonable(values), notify=[([t.reporter_id], "ticket.resumed")])


@handles("resolve")
async def _resolve(call: Call) -> Outcome:
    from services.attachments.service import list_for

    t = call.ticket
    note = require_text(call.body.note, "ticket.note_required")
    assert call.ctx is not None and t.id is not None
    photos = await list_for(call.ctx, "ticket", t.id)
    after = [p.id for p in photos if p.purpose == "after"]  # at least one: the guard checked
    return Outcome(
        values={"resolved_at": call.now, "resolution_note": note},
        reason=None,
        data={"note": note, "after_photos": after},
        notify=[([t.reporter_id], "ticket.resolved")],
    )


@handles("close")
async def _close(call: Call) -> Outcome:
    t = call.ticket
    auto = call.actor_id is None
    return Outcome(
        values={"closed_at": call.now},
        reason="auto_close" if auto else call.body.reason,
        data={"auto": auto},
        notify=[([t.assignee_id, t.reporter_id] if auto else [t.assignee_id], "ticket.closed")],
    )


@handles("reopen")
async def _reopen(call: Call) -> Outcome:
    t = call.ticket
    reason = require_text(call.body.reason)
    assert t.resolved_at is not None  # the guard checked
    managers = await people.managers(call.session, t.community_id)
    return Outcome(
        values={"resolved_at": None, "closed_at": None, "resolution_note": None},
        reason=reason,
        data={"resolved_at": t.resolved_at.isoformat()},
        notify=[([t.assignee_id, *managers], "ticket.reopened")],
    )


@handles("cancel")
async def _cancel(call: Call) -> Outcome:
    t = call.ticket
    return Outcome(
        values={"closed_at": call.now},
        reason=call.body.reason,
        notify=[([t.assignee_id], "ticket.cancelled")],
    )


@handles("reject")
async def _reject(call: Call) -> Outcome:
    t = call.ticket
    code = require_text(call.body.reason_code)
    if code not in get_args(RejectReason):
        raise InvalidInput("ticket.reason_required", details={"allowed": list(get_args(RejectReason))})
    note = (call.body.note or call.body.reason or "").strip()
    return Outcome(
        values={"closed_at": call.now},
        reason=code,
        data={"note": note},
        notify=[([t.reporter_id], "ticket.rejected")],
        # The reporter reads the reason in words and the manager's explanation, never "invalid".
        template_extra=_reason_words("ticket.reject_reason", code, note, "：{}", ": {}"),
    )


@handles("urge")
async def _urge(call: Call) -> Outcome:
    t = call.ticket
    managers = await people.managers(call.session, t.community_id)
    note = (call.body.reason or "").strip()
    return Outcome(
        values={"last_urged_at": call.now},
        reason=call.body.reason,
        notify=[([t.assignee_id, *managers], "ticket.urged")],
        # The reporter's words go into the message ("：快点" / ": hurry"), or nothing when none given.
        template_extra={
            "urge_note_zh": f"：{note}" if note else "",
            "urge_note": f": {note}" if note else "",
        },
    )


@handles("reprioritise")
async def _reprioritise(call: Call) -> Outcome:
    t = call.ticket
    priority = call.body.priority
    if priority is None:
        raise InvalidInput("ticket.priority_required")
    policy = await deadlines.policy_for(call.session, t, priority)
    values = deadlines.on_priority(t, call.now, policy) | {"priority": priority}
    return Outcome(
        values=values,
        reason=call.body.reason,
        data={"from_priority": t.priority, **_jsonable(values)},
    )


def _reason_words(group: str, code: str, note: str, zh_note: str, en_note: str) -> dict[str, str]:
    """A coded reason as words for the message, with the person's own note after it."""
    return {
        "reason_zh": zh(group, code) + (zh_note.format(note) if note else ""),
        "reason_en": en(group, code) + (en_note.format(note) if note else ""),
    }


def _jsonable(values: dict[str, object]) -> dict[str, object]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


import services.tickets.complaints  # noqa: E402, F401  (classify and dispute)
