"""Ratings after resolve: 1–5 on overall, speed and attitude; changeable for 7 days.

A low overall rating (≤ 2) opens a return visit (回访) for the manager and lets the resident
reopen the ticket even after it was closed (within 7 days of the resolve).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from services.errors import Conflict, Forbidden, InvalidInput
from services.models import utcnow
from services.models.tickets import Ticket, TicketFollowup, TicketRating
from services.models.tickets import TicketStatus as S
from services.runtime import Ctx
from services.tickets import people, queries
from services.tickets.actions import LOW_RATING
from services.tickets.events import event_key, tell, template_data, write_event
from services.tickets.schemas import RatingIn, RatingOut

EDITABLE_FOR = timedelta(days=7)


async def rate(ctx: Ctx, ticket_id: int, body: RatingIn) -> RatingOut:
    principal = ctx.require_principal()
    t = await queries.load_visible(ctx, ticket_id)
    assert t.id is not None
    # Staff-filed tickets are rated by the resident they were filed for (reporter_id), not the filer.
    if principal.user_id != t.reporter_id:
        raise Forbidden()
    if t.status not in (S.resolved, S.closed) or t.resolved_at is None:
        raise InvalidInput("ticket.rating_not_allowed", details={"status": t.status})
    now = utcnow()
    row = (await ctx.session.exec(select(TicketRating).where(TicketRating.ticket_id == t.id))).first()
    if row is None:
        row = TicketRating(
            ticket_id=t.id,
            community_id=t.community_id,
            user_id=principal.user_id,
            overall=body.overall,
            speed=body.speed,
            attitude=body.attitude,
            comment=body.comment,
            created_at=now,
            updated_at=now,
        )
        action = "rate"
    else:
        if now - row.created_at > EDITABLE_FOR:
            raise Conflict("ticket.rating_locked", details={"rated_at": row.created_at.isoformat()})
        row.overall, row.speed, row.attitude = body.overall, body.speed, body.attitude
        row.comment, row.updated_at = body.comment, now
        action = "rerate"
    ctx.session.add(row)
    table = Ticket.__table__  # type: ignore[attr-defined]
    await ctx.session.execute(
        sa.update(table).where(table.c.id == t.id).values(rating_overall=body.overall, updated_at=now)
    )
    t.rating_overall = body.overall
    event = await write_event(
        ctx.session,
        t,
        action,
        actor_id=principal.user_id,
        from_status=t.status,
        to_status=t.status,
        reason=body.comment or None,
        data={"overall": body.overall, "speed": body.speed, "attitude": body.attitude},
        at=now,
    )
    followup = False
    if body.overall <= LOW_RATING:
        followup = await _open_followup(ctx, t)
        if followup:
            managers = await people.managers(ctx.session, t.community_id)
            await tell(
                ctx.session,
                t,
                managers,
                "ticket.low_rating",
                event_key(t, event),
                template_data(t, overall=body.overall),
            )
    return RatingOut(
        ticket_id=t.id,
        overall=row.overall,
        speed=row.speed,
        attitude=row.attitude,
        comment=row.comment,
        created_at=row.created_at,
        updated_at=row.updated_at,
        editable_until=row.created_at + EDITABLE_FOR,
        followup_created=followup,
    )


async def _open_followup(ctx: Ctx, t: Ticket) -> bool:
    """One open return visit per ticket; False when it already exists."""
    assert t.id is not None
    exists = (
        await ctx.session.exec(
            select(TicketFollowup.id).where(
                TicketFollowup.ticket_id == t.id, TicketFollowup.reason == "low_rating"
            )
        )
    ).first()
    if exists is not None:
        return False
    ctx.session.add(TicketFollowup(ticket_id=t.id, community_id=t.community_id, reason="low_rating"))
    await ctx.session.flush()
    return True
