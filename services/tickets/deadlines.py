"""Due times of a ticket from its SLA policy: set at creation, moved by pauses and priority changes.

Targets are working minutes (the policy's calendar decides what counts). The ticket keeps the
targets it was measured against and the paused working time, so every due time can be explained:

    resolution_due_at = created_at + (resolution_minutes + paused_working_minutes) working minutes

While paused, `resolution_elapsed_minutes` holds the working minutes used before the pause; on
resume the remaining time (target − elapsed) is counted from the moment of resuming.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.tickets import SlaFlag, Ticket, TicketStatus
from services.tickets.sla import ResolvedPolicy, add_working_minutes, resolve_policy, working_minutes_between

WARN_SHARE = 0.8
# Still open this share of the resolution target after the deadline: escalate beyond the manager.
ESCALATE_SHARE = 0.5


async def policy_for(session: AsyncSession, t: Ticket, priority: str | None = None) -> ResolvedPolicy:
    return await resolve_policy(session, t.community_id, t.kind, t.category, priority or t.priority)


def initial(created_at: datetime, policy: ResolvedPolicy) -> dict[str, object]:
    """Targets and due times for a new ticket."""
    response, resolution = float(policy.response_minutes), float(policy.resolution_minutes)
    due = add_working_minutes(created_at, resolution, policy)
    return {
        "response_minutes": response,
        "resolution_minutes": resolution,
        "response_due_at": add_working_minutes(created_at, response, policy),
        "response_warn_at": add_working_minutes(created_at, response * WARN_SHARE, policy),
        "resolution_due_at": due,
        "resolution_warn_at": add_working_minutes(created_at, resolution * WARN_SHARE, policy),
        "escalate_at": add_working_minutes(due, resolution * ESCALATE_SHARE, policy),
    }


def on_pause(t: Ticket, now: datetime, policy: ResolvedPolicy) -> dict[str, object]:
    elapsed = working_minutes_between(t.created_at, now, policy) - t.paused_working_minutes
    return {"paused_at": now, "resolution_elapsed_minutes": round(max(0.0, elapsed), 3)}


def _resolution_from(
    start: datetime, remaining: float, target: float, policy: ResolvedPolicy
) -> dict[str, object]:
    due = add_working_minutes(start, remaining, policy)
    return {
        "resolution_due_at": due,
        "resolution_warn_at": add_working_minutes(start, remaining - target * (1 - WARN_SHARE), policy),
        "escalate_at": add_working_minutes(due, target * ESCALATE_SHARE, policy),
    }


def on_resume(t: Ticket, now: datetime, policy: ResolvedPolicy) -> dict[str, object]:
    assert t.paused_at is not None
    paused_wm = working_minutes_between(t.paused_at, now, policy)
    elapsed = t.resolution_elapsed_minutes or 0.0
    remaining = t.resolution_minutes - elapsed
    values: dict[str, object] = {
        "paused_at": None,
        "pause_reason": None,
        "paused_seconds": t.paused_seconds + int((now - t.paused_at).total_seconds()),
        "paused_working_minutes": round(t.paused_working_minutes + paused_wm, 3),
    }
    values |= _resolution_from(now, remaining, t.resolution_minutes, policy)
    values["sla_state"] = _clear_resolution_flags(t.sla_state, values, now)
    return values


def on_priority(t: Ticket, now: datetime, policy: ResolvedPolicy) -> dict[str, object]:
    """New targets from the new priority; due times measured again from creation."""
    response, resolution = float(policy.response_minutes), float(policy.resolution_minutes)
    values: dict[str, object] = {"response_minutes": response, "resolution_minutes": resolution}
    if t.accepted_at is None:
        values["response_due_at"] = add_working_minutes(t.created_at, response, policy)
        values["response_warn_at"] = add_working_minutes(t.created_at, response * WARN_SHARE, policy)
    if t.status != TicketStatus.paused:
        # The same instant as "remaining from now" would give: paused time simply extends the target.
        values |= _resolution_from(t.created_at, resolution + t.paused_working_minutes, resolution, policy)
    state = t.sla_state
    if "response_warn_at" in values and values["response_warn_at"] > now:  # type: ignore[operator]
        state &= ~(SlaFlag.response_warned | SlaFlag.response_breached)
    if "resolution_warn_at" in values:
        state = _clear_resolution_flags(state, values, now)
    values["sla_state"] = state
    return values


def _clear_resolution_flags(state: int, values: dict[str, object], now: datetime) -> int:
    """A deadline moved into the future may warn again (the sweep's dedupe keys still hold)."""
    if values["resolution_warn_at"] > now:  # type: ignore[operator]
        state &= ~(SlaFlag.resolution_warned | SlaFlag.resolution_breached | SlaFlag.escalated)
    elif values["resolution_due_at"] > now:  # type: ignore[operator]
        state &= ~(SlaFlag.resolution_breached | SlaFlag.escalated)
    return state
