"""Where to go and whom to call: the assigned technician's view of the reporter, and the call relay.

Only the technician assigned to a ticket sees the address (building, entrance, room), the resident's
name and a masked phone, and may ask for a relay number to call them (a privacy-number binding that
expires after a few minutes). Nobody else gets more than the ticket row: other technicians, other
residents and the committee see no address, name or phone of the reporter. Everyone who may read the
ticket sees the assigned technician's name.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from services import audit
from services.access import Principal
from services.callrelay import CallRelayError, CallRelayProvider, relay_for
from services.errors import Forbidden, InvalidInput, ServiceUnavailable
from services.models import Building, CallBinding, Household, User, utcnow
from services.models.occupants import Occupant
from services.models.tickets import Ticket
from services.models.tickets import TicketStatus as S
from services.phones import mask
from services.privacy import reads
from services.runtime import Ctx
from services.tickets import queries
from services.tickets.schemas import CallOut, TicketContact

CALLABLE = (S.assigned, S.in_progress, S.paused)
REUSE_IF_LEFT = timedelta(seconds=60)  # a binding with less left is not handed out again


def sees_contact(principal: Principal, t: Ticket) -> bool:
    return t.assignee_id is not None and principal.user_id == t.assignee_id != t.reporter_id


async def contact_for(ctx: Ctx, principal: Principal, t: Ticket) -> TicketContact | None:
    if not sees_contact(principal, t):
        return None
    b, h = (m.__table__.c for m in (Building, Household))  # type: ignore[union-attr]
    name, phone = await _callee(ctx, t)
    building_name = entrance = room = None
    if t.household_id is not None:
        row = (
            await ctx.session.execute(
                sa.select(b.name, h.entrance, h.room).where(h.id == t.household_id, b.id == h.building_id)
            )
        ).first()
        if row is not None:
            building_name, entrance, room = row
    elif t.building_id is not None:
        building_name = (await ctx.session.execute(sa.select(b.name).where(b.id == t.building_id))).scalar()
    await reads.record_read(
        ctx, "read.ticket_contact", purpose="ticket_service", community_id=t.community_id, entity="ticket",
        entity_id=t.id, subjects=[t.reporter_id] if t.reporter_id is not None else [],
    )  # fmt: skip
    return TicketContact(
        building_name=building_name,
        entrance=entrance or None,
        room=room,
        resident_name=name,
        phone_masked=mask(phone) if phone else None,
        can_call=t.status in CALLABLE and bool(phone),
    )


async def _callee(ctx: Ctx, t: Ticket) -> tuple[str | None, str | None]:
    """The resident the ticket is for: its reporter, or the occupant without the app staff filed it
    for (a public-area ticket filed by staff has neither)."""
    if t.reporter_id is not None:
        user = await ctx.session.get(User, t.reporter_id)
        return (user.name, user.phone) if user is not None else (None, None)
    if t.occupant_id is not None:
        occupant = await ctx.session.get(Occupant, t.occupant_id)
        if occupant is not None and occupant.deleted_at is None:
            return occupant.name, occupant.phone
    return None, None


async def assignee_name(ctx: Ctx, t: Ticket) -> str | None:
    if t.assignee_id is None:
        return None
    name: str | None = (await ctx.session.exec(select(User.name).where(User.id == t.assignee_id))).first()
    return name


def _relay(ctx: Ctx) -> CallRelayProvider:
    if ctx.runtime.calls is None:
        ctx.runtime.calls = relay_for(ctx.settings)
    provider: CallRelayProvider = ctx.runtime.calls
    return provider


async def call(ctx: Ctx, ticket_id: int) -> CallOut:
    """A relay number the assigned technician dials to reach the reporter, valid for a few minutes.
    A binding still valid for a minute or more is handed out again instead of binding anew."""
    principal = ctx.require_principal()
    t = await queries.load_visible(ctx, ticket_id)
    assert t.id is not None
    if not sees_contact(principal, t):
        raise Forbidden()
    if t.status not in CALLABLE:
        raise InvalidInput("ticket.call_not_allowed", details={"status": t.status})
    now = utcnow()
    reuse = (
        await ctx.session.exec(
            select(CallBinding)
            .where(
                CallBinding.ticket_id == t.id,
                CallBinding.caller_id == principal.user_id,
                CallBinding.callee_id == t.reporter_id
                if t.reporter_id is not None
                else col(CallBinding.callee_id).is_(None),
                col(CallBinding.expires_at) > now + REUSE_IF_LEFT,
            )
            .order_by(col(CallBinding.expires_at).desc())
        )
    ).first()
    if reuse is not None:
        return CallOut(ticket_id=t.id, relay_number=reuse.relay_number, expires_at=reuse.expires_at)
    _, callee_phone = await _callee(ctx, t)
    if not callee_phone:
        raise InvalidInput("ticket.call_not_allowed", details={"status": t.status})
    await reads.record_read(
        ctx, "read.resident_phone", purpose="ticket_service", community_id=t.community_id, entity="ticket",
        entity_id=t.id, subjects=[t.reporter_id] if t.reporter_id is not None else [],
        detail=None if t.reporter_id is not None else {"occupant_id": t.occupant_id},
    )  # fmt: skip
    provider = _relay(ctx)
    try:
        binding = await provider.bind(
            principal.user.phone, callee_phone, timedelta(seconds=ctx.settings.call_relay_ttl_seconds)
        )
    except CallRelayError as exc:
        raise ServiceUnavailable(30, "ticket.call_relay_unavailable") from exc
    row = CallBinding(
        community_id=t.community_id,
        ticket_id=t.id,
        caller_id=principal.user_id,
        callee_id=t.reporter_id,
        relay_number=binding.number,
        provider=provider.name,
        provider_ref=binding.ref,
        expires_at=binding.expires_at,
        created_at=now,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx, "ticket.call", "ticket", t.id, community_id=t.community_id,
        after={"binding_id": row.id, "provider": provider.name, "expires_at": binding.expires_at.isoformat()},
    )  # fmt: skip
    return CallOut(ticket_id=t.id, relay_number=binding.number, expires_at=binding.expires_at)
