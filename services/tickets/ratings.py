"""Ratings after resolve: 1–5 on overall, speed and attitude; changeable for 7 days.

A low overall rating (≤ 2) opens a return visit (回访) for the manager and lets the resident
reopen the ticket even after it was closed (within 7 days of the resolve).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from services import audit
from services.access import Principal
from services.errors import Forbidden, InvalidInput
from services.models import Role, utcnow
from services.models.tickets import Ticket, TicketFollowup, TicketRating
from services.models.tickets import TicketStatus as S
from services.runtime import Ctx
from services.tickets import people, queries
from services.tickets.actions import LOW_RATING, RATING_EDITABLE_FOR
from services.tickets.events import event_key, tell, template_data, write_event
from services.tickets.schemas import RatingIn, RatingOut
from services.tickets.transitions import Facts, actor_roles, refusal

EDITABLE_FOR = RATING_EDITABLE_FOR
RECORDERS = (Role.property_staff, Role.property_manager, Role.community_admin)


async def rate(ctx: Ctx, ticket_id: int, body: RatingIn) -> RatingOut:
    principal = ctx.require_principal()
    t = await queries.load_visible(ctx, ticket_id)
    assert t.id is not None
    # Staff-filed tickets are rated by the resident they were filed for (reporter_id), not the filer;
    # an occupant without the app tells staff (by phone, in person, by SMS reply), who record it.
    if body.channel == "app":
        if principal.user_id != t.reporter_id:
            raise Forbidden()  # staff acting for an occupant record the rating with its channel
        rater_id, recorded_by = principal.user_id, None
    else:
        if t.reporter_id is not None or t.occupant_id is None:
            raise InvalidInput("ticket.rating_channel_invalid")
        if not _may_record(principal, t):
            raise Forbidden()
        rater_id, recorded_by = None, principal.user_id
    if t.status not in (S.resolved, S.closed) or t.resolved_at is None:
        raise InvalidInput("ticket.rating_not_allowed", details={"status": t.status})
    now = utcnow()
    row = (await ctx.session.exec(select(TicketRating).where(TicketRating.ticket_id == t.id))).first()
    # The same rule allowed_actions offers "rate" by: resolved or closed, the reporter (staff-filed
    # tickets are rated by the resident they were filed for, not the filer), within 7 days.
    facts = Facts(now=now, rated_at=row.created_at if row is not None else None)
    # The app's rater is the reporter (the shared rule); staff recording for an occupant was checked above.
    refused = refusal("rate", t, actor_roles(principal, t), facts) if recorded_by is None else None
    if refused is not None:
        raise refused
    if row is None:
        row = TicketRating(
            ticket_id=t.id,
            community_id=t.community_id,
            user_id=rater_id,
            channel=body.channel,
            recorded_by_id=recorded_by,
            overall=body.overall,
            speed=body.speed,
            attitude=body.attitude,
            comment=body.comment,
            created_at=now,
            updated_at=now,
        )
        action = "rate"
    else:
        row.overall, row.speed, row.attitude = body.overall, body.speed, body.attitude
        row.comment, row.updated_at = body.comment, now
        row.channel, row.recorded_by_id = body.channel, recorded_by
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
        data={
            "overall": body.overall,
            "speed": body.speed,
            "attitude": body.attitude,
            "channel": body.channel,
            "recorded_by": recorded_by,
        },
        at=now,
    )
    if recorded_by is not None:  # a rating entered by staff on someone's behalf is a privileged act
        await audit.record(
            ctx, f"ticket.{action}_recorded", "ticket", t.id, community_id=t.community_id,
            after={"overall": body.overall, "channel": body.channel},
        )  # fmt: skip
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
        channel=row.channel,
        recorded_by_id=row.recorded_by_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        editable_until=row.created_at + EDITABLE_FOR,
        followup_created=followup,
    )


def _may_record(principal: Principal, t: Ticket) -> bool:
    """The desk and the office record an occupant's rating; the technician who did the job may not."""
    if t.assignee_id is not None and principal.user_id == t.assignee_id:
        return False
    held = principal.roles_in(t.community_id)
    return principal.is_platform_admin or bool(set(RECORDERS) & held)


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
