"""Return visits (回访): after a rating of 2 or less the manager calls the resident back and records it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlmodel import col, select
from typing_extensions import TypeAliasType

from services import access, audit
from services.errors import Conflict, NotFound
from services.models import Role, Ticket, TicketFollowup, utcnow
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Page, RequestBody, ResponseBody, Text
from services.tickets import messages  # noqa: F401  (registers error texts)

MANAGERS = (Role.property_manager,)
READERS = (Role.property_manager, Role.committee_member, Role.community_admin)
FollowupStatus = TypeAliasType("FollowupStatus", Literal["open", "done"])


class FollowupOut(ResponseBody):
    id: int
    ticket_id: int
    community_id: int
    ticket_title: str
    reason: str
    status: FollowupStatus
    note: str | None
    done_by_id: int | None
    done_at: datetime | None
    created_at: datetime


class FollowupDone(RequestBody):
    note: Text = Field(min_length=1, max_length=1000, description="What the resident said on the call")


async def list_followups(
    ctx: Ctx, community_id: int, status: FollowupStatus | None, limit: int, cursor: str | None
) -> Page[FollowupOut]:
    access.require_community(ctx.require_principal(), community_id, READERS)
    stmt = (
        select(TicketFollowup, Ticket.title)
        .join(Ticket, col(Ticket.id) == TicketFollowup.ticket_id)
        .where(TicketFollowup.community_id == community_id)
    )
    if status is not None:
        stmt = stmt.where(TicketFollowup.status == status)
    after = id_after(cursor)
    if after is not None:
        stmt = stmt.where(col(TicketFollowup.id) < after)
    rows = (await ctx.session.exec(stmt.order_by(col(TicketFollowup.id).desc()).limit(limit))).all()
    items = [FollowupOut.model_validate({**f.model_dump(), "ticket_title": title}) for f, title in rows]
    return Page(items=items, next_cursor=next_id_cursor([i.id for i in items], limit))


async def complete(ctx: Ctx, followup_id: int, body: FollowupDone) -> FollowupOut:
    p = ctx.require_principal()
    row = (
        await ctx.session.exec(
            select(TicketFollowup, Ticket.title)
            .join(Ticket, col(Ticket.id) == TicketFollowup.ticket_id)
            .where(TicketFollowup.id == followup_id, access.community_filter(p, TicketFollowup.community_id))
        )
    ).first()
    if row is None:
        raise NotFound("followup.not_found")
    followup, title = row
    access.require_community(p, followup.community_id, MANAGERS)
    if followup.status != "open":
        raise Conflict("followup.already_done")
    followup.status, followup.note, followup.done_by_id, followup.done_at = (
        "done",
        body.note,
        p.user_id,
        utcnow(),
    )
    ctx.session.add(followup)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "followup.complete",
        "ticket_followup",
        followup.id,
        community_id=followup.community_id,
        before={"status": "open"},
        after={"status": "done", "ticket_id": followup.ticket_id},
    )
    return FollowupOut.model_validate({**followup.model_dump(), "ticket_title": title})
