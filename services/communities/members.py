"""People in a community or company: finding or creating the account, inviting to or granting a role.

Staff add people by phone. For a phone that already has an account that is another tenant's person:
so the answer must not say whose it is, nor hand them a role they did not ask for. Every such addition
is therefore an invitation (an `invited` membership that grants nothing) the invitee accepts or
declines from /v1/me/invitations; the inviter's answer has the same shape, and echoes only what the
inviter typed, whether the phone was new or not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import col, select

from services import access, audit
from services import labels as i18n
from services.communities.common import COMMUNITY_STAFF_ROLES, after_id, flush_unique, load_community, page
from services.communities.schemas import MemberCreate, MemberOut
from services.errors import Conflict, InvalidInput, NotFound
from services.models import Membership, MembershipStatus, Role, User, utcnow
from services.notifications.outbox import notify
from services.phones import mask, normalise_mobile
from services.runtime import Ctx
from services.schemas import Page
from services.security import hash_password


def audit_view(out: MemberOut) -> dict[str, object]:
    """What the audit log keeps of a membership: the phone masked (the log is read by more people
    than the inviter, and kept longer)."""
    return out.model_dump() | {"phone": mask(out.phone)}


def member_out(m: Membership, u: User) -> MemberOut:
    # Until the person accepts (and after they decline), the inviter sees only what they typed: the
    # phone and the name they gave (kept in the note), not the account's name or id.
    unaccepted = m.status in (MembershipStatus.invited, MembershipStatus.rejected)
    return MemberOut(
        id=m.id or 0,
        user_id=None if unaccepted else u.id,
        name=(m.note or "") if unaccepted else u.name,
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
    """The account for a phone, created when new, with `name` and `password`.

    An existing account is left as its owner made it: whoever adds a resident as staff must not choose
    their password (and log in as them) nor rename them. A password given for it is still hashed, then
    dropped, so the answer takes as long whether the phone was known or not, and says nothing else
    either. Only a trusted operator (`reset_password`, the command line) overwrites name and password.
    """
    phone = normalise_mobile(raw_phone, ctx.settings.default_region)
    user = (await ctx.session.exec(select(User).where(User.phone == phone))).first()
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    if user is None:
        user = User(phone=phone, name=name, locale=ctx.locale, password_hash=password_hash)
        ctx.session.add(user)
        await flush_unique(ctx, "membership.duplicate")
        return user
    if reset_password:
        user.password_hash = password_hash or user.password_hash
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


async def invite(
    ctx: Ctx,
    raw_phone: str,
    name: str,
    password: str | None,
    role: Role,
    *,
    community_id: int | None = None,
    company_id: int | None = None,
) -> tuple[Membership, User]:
    """An invitation to `role`, for the account of a phone (created when new, with the password).

    An existing account keeps its name and password (a password given for it is ignored, not
    refused: a refusal would tell the inviter the phone is a staff account)."""
    user = await find_or_create_user(ctx, raw_phone, name, password)
    assert user.id is not None
    held = (
        await ctx.session.exec(
            select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.role == role,
                _same(col(Membership.community_id), community_id),
                _same(col(Membership.company_id), company_id),
                col(Membership.status).in_([MembershipStatus.verified, MembershipStatus.invited]),
            )
        )
    ).first()
    if held is not None:
        raise Conflict("membership.duplicate", details={"membership_id": held})
    row = Membership(
        user_id=user.id,
        role=role,
        community_id=community_id,
        company_id=company_id,
        status=MembershipStatus.invited,
        note=name,
        decided_by=ctx.require_principal().user_id,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await notify(
        ctx.session,
        [user.id],
        "account",
        "account.invited",
        {"role": role, "role_zh": i18n.zh("role", role), "role_en": i18n.en("role", role)},
        f"invitation:{row.id}",
        community_id=community_id,
    )
    return row, user


async def answer_invitation(ctx: Ctx, membership_id: int, *, accept: bool) -> Membership:
    """The invitee accepts (the role becomes verified) or declines (rejected); others: 404."""
    p = ctx.require_principal()
    m = (
        await ctx.session.exec(
            select(Membership)
            .where(
                Membership.id == membership_id,
                Membership.user_id == p.user_id,
                Membership.status == MembershipStatus.invited,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if m is None:
        raise NotFound("invitation.not_found")
    if accept:
        m.status, m.verified_at = MembershipStatus.verified, utcnow()
    else:
        m.status = MembershipStatus.rejected
    ctx.session.add(m)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "invitation.accept" if accept else "invitation.decline",
        "membership",
        m.id,
        community_id=m.community_id,
        before={"status": MembershipStatus.invited},
        after={"status": m.status, "role": m.role, "company_id": m.company_id},
    )
    return m


async def add_community_member(ctx: Ctx, community_id: int, body: MemberCreate) -> MemberOut:
    """A community admin invites committee members, party members, grid workers, other admins."""
    access.require_community(ctx.require_principal(), community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    if body.role not in COMMUNITY_STAFF_ROLES:
        raise InvalidInput("membership.invalid_role", details={"allowed": sorted(COMMUNITY_STAFF_ROLES)})
    m, user = await invite(ctx, body.phone, body.name, body.password, body.role, community_id=community_id)
    out = member_out(m, user)
    await audit.record(
        ctx, "membership.create", "membership", m.id, community_id=community_id, after=audit_view(out)
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
        ctx, "membership.create", "membership", m.id, community_id=community_id, after=audit_view(out)
    )
    return out
