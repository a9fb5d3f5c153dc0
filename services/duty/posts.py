"""Duty posts (党员责任岗), assignments of party members to them, and members' contact preferences."""

from __future__ import annotations

from sqlmodel import col, select

from services import audit
from services.access import require_community
from services.communities.common import load_community
from services.duty.common import MANAGERS, load_post, require_party_member
from services.duty.schemas import (
    AssignmentCreate,
    AssignmentOut,
    ContactPrefIn,
    ContactPrefOut,
    PostCreate,
    PostOut,
)
from services.errors import Conflict, InvalidInput, NotFound
from services.models import Building, User, utcnow
from services.models.duty import DutyAssignment, DutyContactPref, DutyPost
from services.runtime import Ctx


def post_out(p: DutyPost) -> PostOut:
    return PostOut(
        id=p.id or 0,
        community_id=p.community_id,
        category=p.category,
        custom_category=p.custom_category,
        description=p.description,
        building_ids=list(p.building_ids or []),
        headcount=p.headcount,
        created_at=p.created_at,
    )


async def create_post(ctx: Ctx, community_id: int, body: PostCreate) -> PostOut:
    principal = ctx.require_principal()
    require_community(principal, community_id, MANAGERS)
    await load_community(ctx, community_id)
    wanted = sorted(set(body.building_ids))
    if wanted:
        found = set(
            (
                await ctx.session.exec(
                    select(Building.id).where(
                        Building.community_id == community_id, col(Building.id).in_(wanted)
                    )
                )
            ).all()
        )
        missing = [b for b in wanted if b not in found]
        if missing:
            raise InvalidInput("building.not_found", details={"building_ids": missing})
    post = DutyPost(
        community_id=community_id,
        category=body.category,
        custom_category=body.custom_category,
        description=body.description,
        building_ids=wanted,
        headcount=body.headcount,
        created_by=principal.user_id,
    )
    ctx.session.add(post)
    await ctx.session.flush()
    out = post_out(post)
    await audit.record(ctx, "duty.post_create", "duty_post", post.id, community_id=community_id)
    return out


async def list_posts(ctx: Ctx, community_id: int) -> list[PostOut]:
    require_community(ctx.require_principal(), community_id)
    rows = (
        await ctx.session.exec(
            select(DutyPost)
            .where(DutyPost.community_id == community_id, col(DutyPost.deleted_at).is_(None))
            .order_by(col(DutyPost.id))
        )
    ).all()
    return [post_out(p) for p in rows]


async def add_assignment(ctx: Ctx, post_id: int, body: AssignmentCreate) -> AssignmentOut:
    post = await load_post(ctx, post_id)
    require_community(ctx.require_principal(), post.community_id, MANAGERS)
    if body.ends_on is not None and body.ends_on < body.starts_on:
        raise InvalidInput("duty.invalid_dates")
    await require_party_member(ctx.session, post.community_id, body.user_id)
    user = await ctx.session.get(User, body.user_id)
    if user is None:
        raise NotFound("user.not_found")
    # The same member may hold the same post again later, not twice over the same dates.
    for a in (
        await ctx.session.exec(
            select(DutyAssignment).where(
                DutyAssignment.post_id == post_id, DutyAssignment.user_id == body.user_id
            )
        )
    ).all():
        if (a.ends_on is None or a.ends_on >= body.starts_on) and (
            body.ends_on is None or a.starts_on <= body.ends_on
        ):
            raise Conflict("duty.assignment_exists", details={"assignment_id": a.id})
    row = DutyAssignment(
        post_id=post_id, user_id=body.user_id, role=body.role, starts_on=body.starts_on, ends_on=body.ends_on
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "duty.assign",
        "duty_assignment",
        row.id,
        community_id=post.community_id,
        after={"post_id": post_id, "user_id": body.user_id, "role": body.role},
    )
    return AssignmentOut(
        id=row.id or 0,
        post_id=post_id,
        user_id=row.user_id,
        name=user.name,
        role=row.role,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
    )


def extension_for(user_id: int) -> str:
    """A stable duty extension per member: 8 followed by the user id, at least 5 digits."""
    return f"8{user_id:04d}"[:10]


async def contact_pref(ctx: Ctx, user_id: int) -> DutyContactPref:
    """The member's row, or the default (in-app message only; the phone is shared only on consent)."""
    row = (await ctx.session.exec(select(DutyContactPref).where(DutyContactPref.user_id == user_id))).first()
    return row or DutyContactPref(user_id=user_id, extension=extension_for(user_id))


async def set_contact(ctx: Ctx, body: ContactPrefIn) -> ContactPrefOut:
    principal = ctx.require_principal()
    row = await contact_pref(ctx, principal.user_id)
    if body.share_phone is not None:
        row.share_phone = body.share_phone
    if body.allow_message is not None:
        row.allow_message = body.allow_message
    row.updated_at = utcnow()
    ctx.session.add(row)
    await ctx.session.flush()
    return ContactPrefOut(
        user_id=row.user_id,
        share_phone=row.share_phone,
        allow_message=row.allow_message,
        extension=row.extension,
    )
