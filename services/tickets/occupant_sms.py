"""SMS to an occupant without the app whose ticket staff filed: when it is filed and at the status
changes that matter to them (accepted, assigned, resolved, closed, rejected) — not every internal
step (start, pause, resume, reprioritise). Through the outbox (services.notifications.sms_only), keyed
by the ticket event, so a retry never sends twice."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.occupants import Occupant
from services.models.tickets import Ticket
from services.models.tickets import TicketStatus as S
from services.notifications.sms_only import notify_phones
from services.tickets.templates import KIND_ZH, STATUS_ZH

# status reached -> SMS template
SMS_ON_STATUS = {
    S.accepted.value: "ticket.sms_accepted",
    S.assigned.value: "ticket.sms_assigned",
    S.resolved.value: "ticket.sms_resolved",
    S.closed.value: "ticket.sms_closed",
    S.rejected.value: "ticket.sms_rejected",
}


async def _phone(session: AsyncSession, t: Ticket) -> str | None:
    if t.occupant_id is None:
        return None
    occupant = await session.get(Occupant, t.occupant_id)
    if occupant is None or occupant.deleted_at is not None:
        return None
    return occupant.phone


def sms_data(t: Ticket, **extra: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "ticket_id": t.id,
        "title": t.title,
        "kind_zh": KIND_ZH.get(t.kind, t.kind),
        "status": t.status,
        "status_zh": STATUS_ZH.get(t.status, t.status),
        "place": t.place or "",
        "assignee": "",
        "note": t.resolution_note or "",
        "reason": "",
        **{k: v for k, v in extra.items() if v is not None},
    }


async def _send(session: AsyncSession, t: Ticket, template: str, key: str, data: dict[str, Any]) -> list[int]:
    phone = await _phone(session, t)
    if phone is None:
        return []
    return await notify_phones(session, [phone], "ticket", template, data, key, community_id=t.community_id)


async def on_filed(session: AsyncSession, t: Ticket, key: str) -> list[int]:
    return await _send(session, t, "ticket.sms_filed", key, sms_data(t))


async def on_status(
    session: AsyncSession, t: Ticket, from_status: str | None, key: str, extra: dict[str, Any]
) -> list[int]:
    template = SMS_ON_STATUS.get(t.status)
    if template is None or from_status == t.status:
        return []  # an internal step, or no change of status (a reassignment)
    return await _send(session, t, template, key, sms_data(t, **extra))
