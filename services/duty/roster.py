"""The roster (亮身份): for each building, who holds each duty post today and how to reach them.

Verified residents see their own building(s); party members and staff see every building and may
narrow to one with `building_id`. A member's phone is never shown in full: when the member agrees to
share it, the roster shows the masked number and a call relay (the relay number from settings plus
the member's extension — data only, the telephony is the relay operator's); a member who hides the
phone is shown with in-app messaging only (if they allow it).
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, select

from services.access import require_community
from services.duty.common import ROSTER_STAFF, active_on, local_today, zone_of
from services.duty.posts import extension_for
from services.duty.schemas import (
    CallRelay,
    MessageContact,
    RosterBuilding,
    RosterHolder,
    RosterOut,
    RosterPost,
)
from services.errors import Forbidden, NotFound
from services.models import Building, Household, User, utcnow
from services.models.duty import AssignmentRole, DutyAssignment, DutyContactPref, DutyPost
from services.phones import mask
from services.runtime import Ctx


async def _buildings(ctx: Ctx, community_id: int, building_id: int | None) -> list[Building]:
    principal = ctx.require_principal()
    staff = principal.is_platform_admin or bool(set(ROSTER_STAFF) & principal.roles_in(community_id))
    stmt = select(Building).where(Building.community_id == community_id)
    if not staff:
        homes = list(principal.households.get(community_id, {}))
        if not homes:
            raise Forbidden("access.unverified")
        stmt = stmt.where(
            col(Building.id).in_(select(Household.building_id).where(col(Household.id).in_(homes)))
        )
    rows = list((await ctx.session.exec(stmt.order_by(col(Building.id)))).all())
    if building_id is not None:
        chosen = [b for b in rows if b.id == building_id]
        if not chosen:
            if staff:
                raise NotFound("building.not_found")
            raise Forbidden()
        rows = chosen
    return rows


async def roster(ctx: Ctx, community_id: int, building_id: int | None = None) -> RosterOut:
    require_community(ctx.require_principal(), community_id)
    buildings = await _buildings(ctx, community_id, building_id)
    today = local_today(await zone_of(ctx.session, community_id), utcnow())
    posts = (
        await ctx.session.exec(
            select(DutyPost)
            .where(DutyPost.community_id == community_id, col(DutyPost.deleted_at).is_(None))
            .order_by(col(DutyPost.id))
        )
    ).all()
    rows = (
        await ctx.session.exec(
            select(DutyAssignment, User, DutyContactPref)
            .join(User, col(User.id) == DutyAssignment.user_id)
            .outerjoin(DutyContactPref, col(DutyContactPref.user_id) == DutyAssignment.user_id)
            .where(col(DutyAssignment.post_id).in_([p.id for p in posts]), *active_on(today))
            .order_by(col(DutyAssignment.id))
        )
    ).all()
    relay_number = ctx.settings.duty_call_relay_number
    holders: dict[int, list[RosterHolder]] = defaultdict(list)
    for a, u, pref in rows:
        assert u.id is not None
        share = pref.share_phone if pref else False
        message = pref.allow_message if pref else True
        holders[a.post_id].append(
            RosterHolder(
                user_id=u.id,
                name=u.name,
                role=a.role,
                phone_masked=mask(u.phone) if share else None,
                call_relay=CallRelay(
                    number=relay_number, extension=pref.extension if pref else extension_for(u.id)
                )
                if share
                else None,
                message=MessageContact(user_id=u.id) if message else None,
            )
        )
    for items in holders.values():
        items.sort(key=lambda h: (h.role != AssignmentRole.lead, h.user_id))
    out: list[RosterBuilding] = []
    for b in buildings:
        covering = [p for p in posts if not p.building_ids or (b.id in p.building_ids)]
        out.append(
            RosterBuilding(
                building_id=b.id or 0,
                building_name=b.name,
                posts=[
                    RosterPost(
                        post_id=p.id or 0,
                        category=p.category,
                        custom_category=p.custom_category,
                        description=p.description,
                        headcount=p.headcount,
                        holders=holders.get(p.id or 0, []),
                    )
                    for p in covering
                ],
            )
        )
    return RosterOut(community_id=community_id, on=today, buildings=out)
