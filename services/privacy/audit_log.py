"""Reading the audit log: the admin's search (their communities only) and a resident's access log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select

import services.privacy.messages  # noqa: F401  (registers the error codes and labels)
from services import access
from services.errors import Forbidden, InvalidInput
from services.i18n import label
from services.models import AuditLog, Community, Role, User
from services.pagination import id_after, next_id_cursor
from services.privacy.schemas import AccessLogEntryOut, AuditEntryOut
from services.runtime import Ctx
from services.schemas import Page


def _admin_scope(ctx: Ctx, community_id: int | None) -> Any:
    """The filter on audit rows an admin may search: 404 outside their reach, 403 without the role."""
    p = ctx.require_principal()
    if community_id is not None:
        access.require_community(p, community_id, access.MANAGE_COMMUNITY)
        return col(AuditLog.community_id) == community_id
    if p.is_platform_admin:
        return sa.true()
    mine = sorted(c for c in p.member_community_ids if Role.community_admin in p.roles_in(c))
    if not mine:
        raise Forbidden()
    return col(AuditLog.community_id).in_(mine)


def _detail(after: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if after is None else {k: v for k, v in after.items() if k != "actor_roles"}


async def search(
    ctx: Ctx,
    *,
    community_id: int | None,
    actor_id: int | None,
    subject_id: int | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[AuditEntryOut]:
    where = [_admin_scope(ctx, community_id)]
    if since is not None and until is not None and since > until:
        raise InvalidInput("audit.invalid_range")
    last = id_after(cursor)
    if last is not None:
        where.append(col(AuditLog.id) < last)
    if actor_id is not None:
        where.append(col(AuditLog.actor_id) == actor_id)
    if subject_id is not None:
        where.append(col(AuditLog.subject_user_id) == subject_id)
    if action:
        where.append(col(AuditLog.action) == action)
    if since is not None:
        where.append(col(AuditLog.created_at) >= since)
    if until is not None:
        where.append(col(AuditLog.created_at) < until)
    actor, subject = aliased(User), aliased(User)
    stmt = (
        select(AuditLog, actor.name, subject.name)
        .outerjoin(actor, col(actor.id) == AuditLog.actor_id)
        .outerjoin(subject, col(subject.id) == AuditLog.subject_user_id)
        .where(*where)
        .order_by(col(AuditLog.id).desc())
        .limit(limit)
    )
    rows = (await ctx.session.exec(stmt)).all()
    items = [
        AuditEntryOut(
            id=a.id or 0,
            created_at=a.created_at,
            community_id=a.community_id,
            actor_id=a.actor_id,
            actor_name=actor_name,
            action=a.action,
            entity=a.entity,
            entity_id=a.entity_id,
            subject_user_id=a.subject_user_id,
            subject_name=subject_name,
            purpose=a.purpose,
            detail=_detail(a.after),
            ip=a.ip,
        )
        for a, actor_name, subject_name in rows
    ]
    return Page(items=items, next_cursor=next_id_cursor([i.id for i in items], limit))


async def access_log(ctx: Ctx, limit: int, cursor: str | None) -> Page[AccessLogEntryOut]:
    """Staff reads of the caller's personal data, newest first."""
    me = ctx.require_principal().user_id
    last = id_after(cursor)
    stmt = (
        select(AuditLog, User.name, Community.name)
        .outerjoin(User, col(User.id) == AuditLog.actor_id)
        .outerjoin(Community, col(Community.id) == AuditLog.community_id)
        .where(col(AuditLog.subject_user_id) == me, col(AuditLog.actor_id) != me)
        .order_by(col(AuditLog.id).desc())
        .limit(limit)
    )
    if last is not None:
        stmt = stmt.where(col(AuditLog.id) < last)
    rows = (await ctx.session.exec(stmt)).all()
    items = []
    for a, actor_name, community_name in rows:
        roles = [r for r in str((a.after or {}).get("actor_roles") or "").split(",") if r]
        items.append(
            AccessLogEntryOut(
                id=a.id or 0,
                at=a.created_at,
                community_id=a.community_id,
                community_name=community_name,
                actor_name=actor_name,
                actor_roles=roles,
                actor_role_labels=[label("role", r, ctx.locale) or r for r in roles],
                action=a.action,
                purpose=a.purpose,
            )
        )
    return Page(items=items, next_cursor=next_id_cursor([i.id for i in items], limit))
