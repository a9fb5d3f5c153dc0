"""People in a community or company: finding or creating the account, granting a role."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, select

from services import access, audit
from services.communities.common import COMMUNITY_STAFF_ROLES, after_id, flush_unique, load_community, page
from services.communities.schemas import MemberCreate, MemberOut
from services.errors import Conflict, InvalidInput
from services.models import Membership, MembershipStatus, Role, User, utcnow
from services.phones import normalise_mobile
from services.runtime import Ctx
from services.schemas import Page
from services.security import hash_password


def member_out(m: Membership, u: User) -> MemberOut:
    return MemberOut(
        id=m.id or 0,
        user_id=u.id or 0,
        name=u.name,
        phone=u.phone,
        role=m.role,
        status=m.status,
        community_id=m.community_id,
        company_id=m.company_id,
        verified_at=m.verified_at,
        created_at=m.created_at,
    )


async def find_or_create_user(
    ctx: Ctx, raw_phone: str, name: str, password: str | None, *, reset_password: bool = False
) -> User:
    """The account for a phone, created when new.

    A password is only ever set on a new account (or by a trusted operator with `reset_password`):
    otherwise whoever adds a resident as staff could choose that resident's password and log in as them.
    """
    phone = normalise_mobile(raw_phone, ctx.settings.default_region)
    user = (await ctx.session.exec(select(User).where(User.phone == phone))).first()
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    if user is None:
        user = User(phone=phone, name=name, locale=ctx.locale, password_hash=password_hash)
        ctx.session.add(user)
        await flush_unique(ctx, "membership.duplicate")
        return user
    if password_hash is not None:
        if not reset_password:
            raise Conflict("user.password_exists")
        user.password_hash = password_hash
    if not user.name or reset_password:
        user.name = name
    ctx.session.add(user)
    return user


def _same(column: Any, value: int | None) -> Any:
    return column.is_(None) if value is None else column == value


async def grant_role(
    ctx: Ctx,
    user: User,
    role: Role,
    *,
    community_id: int | None = None,
    company_id: int | None = None,
    exist_ok: bool = False,
) -> Membership:
    """A verified membership; 409 membership.duplicate when the same one is already held."""
    assert user.id is not None
    held = (
        await ctx.session.exec(
            select(Membership).where(
                Membership.user_id == user.id,
                Membership.role == role,
                _same(col(Membership.community_id), community_id),
                _same(col(Membership.company_id), company_id),
                Membership.status == MembershipStatus.verified,
            )
        )
    ).first()
    if held is not None:
        if exist_ok:
            return held
        raise Conflict("membership.duplicate", details={"membership_id": held.id})
    row = Membership(
        user_id=user.id,
        role=role,
        community_id=community_id,
        company_id=company_id,
        status=MembershipStatus.verified,
        verified_at=utcnow(),
        decided_by=ctx.principal.user_id if ctx.principal else None,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    return row


async def add_community_member(ctx: Ctx, community_id: int, body: MemberCreate) -> MemberOut:
    """A community admin appoints committee members, party members, grid workers, other admins."""
    access.require_community(ctx.require_principal(), community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    if body.role not in COMMUNITY_STAFF_ROLES:
        raise InvalidInput("membership.invalid_role", details={"allowed": sorted(COMMUNITY_STAFF_ROLES)})
    user = await find_or_create_user(ctx, body.phone, body.name, body.password)
    m = await grant_role(ctx, user, body.role, community_id=community_id)
    out = member_out(m, user)
    await audit.record(
        ctx, "membership.create", "membership", m.id, community_id=community_id, after=out.model_dump()
    )
    return out


async def list_community_members(
    ctx: Ctx, community_id: int, limit: int, cursor: str | None, role: Role | None = None
) -> Page[MemberOut]:
    """Everyone holding a non-resident role in the community (residents are claims)."""
    access.require_community(ctx.require_principal(), community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    query = (
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(
            Membership.community_id == community_id,
            Membership.role != Role.resident,
            col(Membership.id) > after_id(cursor),
        )
    )
    if role is not None:
        query = query.where(Membership.role == role)
    rows = (await ctx.session.exec(query.order_by(col(Membership.id)).limit(limit))).all()
    return page([member_out(m, u) for m, u in rows], [m.id or 0 for m, _ in rows], limit)


async def create_admin(
    ctx: Ctx, raw_phone: str, name: str, password: str, community_id: int | None = None
) -> MemberOut:
    """Trusted operator only (the `linli create-admin` command): a platform or community admin.

    Idempotent: running it again resets the password and keeps the one membership.
    """
    if len(password) < 10:
        raise InvalidInput("request.invalid", details={"password": "at least 10 characters"})
    if community_id is not None:
        await load_community(ctx, community_id)
    user = await find_or_create_user(ctx, raw_phone, name, password, reset_password=True)
    role = Role.platform_admin if community_id is None else Role.community_admin
    m = await grant_role(ctx, user, role, community_id=community_id, exist_ok=True)
    out = member_out(m, user)
    await audit.record(
        ctx, "membership.create", "membership", m.id, community_id=community_id, after=out.model_dump()
    )
    return out
