"""Duty log: what a member did at the post (a dispute mediated, a hazard reported). An entry may open a
repair ticket through the tickets service (intake channel `inspection`: found on duty rounds) or
refer to an existing ticket of the same community."""

from __future__ import annotations

from sqlmodel import col, select

from services.access import require_community
from services.duty.common import (
    MANAGERS,
    ROSTER_STAFF,
    active_on,
    load_post,
    local_today,
    post_label,
    zone_of,
)
from services.duty.schemas import DutyLogCreate, DutyLogOut
from services.errors import Forbidden, InvalidInput, NotFound
from services.models import Building, utcnow
from services.models.duty import DutyAssignment, DutyLog, DutyPost
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Page


def log_out(row: DutyLog) -> DutyLogOut:
    return DutyLogOut.model_validate(row, from_attributes=True)


async def _holds_post(ctx: Ctx, post: DutyPost) -> bool:
    today = local_today(await zone_of(ctx.session, post.community_id), utcnow())
    found = (
        await ctx.session.exec(
            select(DutyAssignment.id).where(
                DutyAssignment.post_id == post.id,
                DutyAssignment.user_id == ctx.require_principal().user_id,
                *active_on(today),
            )
        )
    ).first()
    return found is not None


async def add_entry(ctx: Ctx, post_id: int, body: DutyLogCreate) -> DutyLogOut:
    from services.models.tickets import IntakeChannel, Ticket
    from services.tickets.service import open_ticket

    principal = ctx.require_principal()
    post = await load_post(ctx, post_id)
    manager = principal.is_platform_admin or bool(set(MANAGERS) & principal.roles_in(post.community_id))
    if not manager and not await _holds_post(ctx, post):
        raise Forbidden("duty.not_on_post")
    ticket_id = body.ticket_id
    if ticket_id is not None:
        found = (
            await ctx.session.exec(
                select(Ticket.id).where(Ticket.id == ticket_id, Ticket.community_id == post.community_id)
            )
        ).first()
        if found is None:
            raise NotFound("ticket.not_found")
    elif body.open_ticket is not None:
        spec = body.open_ticket
        if spec.building_id is not None:
            building = await ctx.session.get(Building, spec.building_id)
            if building is None or building.community_id != post.community_id:
                raise InvalidInput("building.not_found")
        ticket = await open_ticket(
            ctx,
            community_id=post.community_id,
            kind="repair",
            category=spec.category,
            priority=spec.priority,
            title=spec.title,
            description=f"【{post_label(post)}值守记录】{body.body}"[:2000],
            reporter_id=principal.user_id,
            intake_channel=IntakeChannel.inspection,
            building_id=spec.building_id,
        )
        ticket_id = ticket.id
    row = DutyLog(post_id=post_id, user_id=principal.user_id, body=body.body, ticket_id=ticket_id)
    ctx.session.add(row)
    await ctx.session.flush()
    return log_out(row)


async def list_entries(ctx: Ctx, post_id: int, limit: int, cursor: str | None) -> Page[DutyLogOut]:
    """Newest first; party members and staff of the community (not residents)."""
    principal = ctx.require_principal()
    post = await load_post(ctx, post_id)
    require_community(principal, post.community_id, ROSTER_STAFF)
    stmt = select(DutyLog).where(DutyLog.post_id == post_id)
    after = id_after(cursor)
    if after is not None:
        stmt = stmt.where(col(DutyLog.id) < after)
    rows = (await ctx.session.exec(stmt.order_by(col(DutyLog.id).desc()).limit(limit))).all()
    return Page[DutyLogOut](
        items=[log_out(r) for r in rows], next_cursor=next_id_cursor([r.id or 0 for r in rows], limit)
    )
