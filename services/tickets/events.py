"""Write a ticket_event and the inbox notifications it causes, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

import services.tickets.templates  # noqa: F401  (registers the inbox templates)
from services.labels import en, zh
from services.models.tickets import Ticket, TicketEvent
from services.notifications.outbox import notify


async def write_event(
    session: AsyncSession,
    t: Ticket,
    action: str,
    *,
    actor_id: int | None,
    from_status: str | None,
    to_status: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    assert t.id is not None
    event = TicketEvent(
        ticket_id=t.id,
        community_id=t.community_id,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
    )
    if at is not None:
        event.created_at = at
    session.add(event)
    await session.flush()
    return event


def template_data(t: Ticket, **extra: Any) -> dict[str, Any]:
    """Every placeholder any ticket template uses, so rendering never misses a key. Codes come with
    their words from the label catalogue: `<name>_zh` for the Chinese texts, `<name>_en` for English."""
    reason = str(extra.get("reason") or "")
    clock = str(extra.get("clock") or "")
    data: dict[str, Any] = {
        "id": t.id,
        "ticket_id": t.id,
        "title": t.title,
        "kind": t.kind,
        "kind_zh": zh("ticket.kind", t.kind),
        "kind_en": en("ticket.kind", t.kind).lower(),
        "status": t.status,
        "status_zh": zh("ticket.status", t.status),
        "status_en": en("ticket.status", t.status),
        "category_zh": zh("ticket.category", t.category),
        "category_en": en("ticket.category", t.category),
        "reason": reason,
        "reason_zh": zh("ticket.pause_reason", reason) if reason else "",
        "reason_en": en("ticket.pause_reason", reason) if reason else "",
        "assignee": "",
        "overall": "",
        "clock": clock,
        "clock_zh": zh("ticket.clock", clock) if clock else "",
        "clock_en": en("ticket.clock", clock) if clock else "",
        "due": "",
        "urge_note": "",
        "urge_note_zh": "",
    }
    data.update({k: v for k, v in extra.items() if v is not None})
    return data


async def tell(
    session: AsyncSession,
    t: Ticket,
    recipients: Iterable[int | None],
    template: str,
    dedupe_key: str,
    data: dict[str, Any],
    *,
    exclude: int | None = None,
) -> list[int]:
    users = {u for u in recipients if u is not None and u != exclude}
    if not users:
        return []
    return await notify(session, users, "ticket", template, data, dedupe_key, community_id=t.community_id)


def event_key(t: Ticket, event: TicketEvent) -> str:
    return f"ticket:{t.id}:event:{event.id}"
