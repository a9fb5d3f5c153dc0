"""The party organisation of a community and its members (memberships with a party role).

Members are managed by the secretary (or the community admin): adding one grants the verified
`party_member` role through the communities area; removing one revokes it, ends their duty
assignments and takes them off shifts that have not started yet.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from services import audit
from services.access import require_community
from services.communities.common import load_community
from services.communities.members import invite
from services.duty.common import MANAGERS, PARTY_ROLES, local_today, secretaries, zone_of
from services.duty.schemas import PartyCreate, PartyMemberIn, PartyMemberOut, PartyOut
from services.errors import Conflict, NotFound
from services.models import Membership, MembershipStatus, Role, User, utcnow
from services.models.duty import DutyAssignment, DutyPost, DutyShift, DutyShiftAssignee, PartyOrganisation
from services.phones import mask
from services.runtime import Ctx


async def _org(ctx: Ctx, community_id: int) -> PartyOrganisation | None:
    return (
        await ctx.session.exec(
            select(PartyOrganisation).where(PartyOrganisation.community_id == community_id)
        )
    ).first()


async def _members(ctx: Ctx, community_id: int) -> list[PartyMemberOut]:
    rows = (
        await ctx.session.exec(
            select(Membership, User)
            .join(User, col(User.id) == Membership.user_id)
            .where(
                Membership.community_id == community_id,
                col(Membership.role).in_(list(PARTY_ROLES)),
                Membership.status == MembershipStatus.verified,
            )
            .order_by(col(Membership.id))
        )
    ).all()
    return [
        PartyMemberOut(
            user_id=u.id or 0, membership_id=m.id or 0, name=u.name, role=m.role, phone_masked=mask(u.phone)
        )
        for m, u in rows
    ]


def _out(org: PartyOrganisation, members: list[PartyMemberOut]) -> PartyOut:
    return PartyOut(
        id=org.id or 0,
        community_id=org.community_id,
        name=org.name,
        secretary_id=org.secretary_id,
        created_at=org.created_at,
        members=members,
    )


async def get_party(ctx: Ctx, community_id: int) -> PartyOut:
    """Everyone verified in the community may see its party branch (亮身份)."""
    require_community(ctx.require_principal(), community_id)
    org = await _org(ctx, community_id)
    if org is None:
        raise NotFound("party.not_found")
    return _out(org, await _members(ctx, community_id))


async def create_party(ctx: Ctx, community_id: int, body: PartyCreate) -> PartyOut:
    principal = ctx.require_principal()
    require_community(principal, community_id, MANAGERS)
    await load_community(ctx, community_id)
    if await _org(ctx, community_id) is not None:
        raise Conflict("party.exists")
    held = await secretaries(ctx.session, community_id)
    secretary = principal.user_id if principal.user_id in held else (held[0] if held else None)
    org = PartyOrganisation(
        community_id=community_id, name=body.name, secretary_id=secretary, created_by=principal.user_id
    )
    ctx.session.add(org)
    await ctx.session.flush()
    await audit.record(ctx, "party.create", "party_organisation", org.id, community_id=community_id)
    return _out(org, await _members(ctx, community_id))


async def add_member(ctx: Ctx, community_id: int, body: PartyMemberIn) -> PartyMemberOut:
    require_community(ctx.require_principal(), community_id, MANAGERS)
    await load_community(ctx, community_id)
    # An invitation, as for every role given by phone (services.communities.members).
    m, user = await invite(ctx, body.phone, body.name, None, Role.party_member, community_id=community_id)
    await audit.record(
        ctx, "party.member_add", "membership", m.id, community_id=community_id, after={"user_id": user.id}
    )
    return PartyMemberOut(
        user_id=None,
        membership_id=m.id or 0,
        name=body.name,
        role=m.role,
        phone_masked=mask(user.phone),
        status=m.status,
    )


async def remove_member(ctx: Ctx, community_id: int, user_id: int) -> None:
    require_community(ctx.require_principal(), community_id, MANAGERS)
    session = ctx.session
    m = (
        await session.exec(
            select(Membership).where(
                Membership.community_id == community_id,
                Membership.user_id == user_id,
                Membership.role == Role.party_member,
                Membership.status == MembershipStatus.verified,
            )
        )
    ).first()
    if m is None:
        raise NotFound("membership.not_found")
    m.status = MembershipStatus.revoked
    session.add(m)
    now = utcnow()
    yesterday = local_today(await zone_of(session, community_id), now) - timedelta(days=1)
    posts = select(DutyPost.id).where(DutyPost.community_id == community_id)
    for a in (
        await session.exec(
            select(DutyAssignment).where(
                DutyAssignment.user_id == user_id, col(DutyAssignment.post_id).in_(posts)
            )
        )
    ).all():
        if a.ends_on is None or a.ends_on > yesterday:
            a.ends_on = max(yesterday, a.starts_on)
            session.add(a)
    future = select(DutyShift.id).where(
        DutyShift.community_id == community_id, col(DutyShift.starts_at) > now
    )
    await session.execute(
        sa.delete(DutyShiftAssignee).where(
            col(DutyShiftAssignee.user_id) == user_id, col(DutyShiftAssignee.shift_id).in_(future)
        )
    )
    await session.flush()
    await audit.record(
        ctx, "party.member_remove", "membership", m.id, community_id=community_id, before={"user_id": user_id}
    )
