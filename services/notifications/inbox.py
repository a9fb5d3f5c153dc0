"""The in-app inbox: list, unread count, mark read."""

from __future__ import annotations

from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import col, select, update

import services.notifications.messages  # noqa: F401  (registers error texts)
from services.driver_sql import DriverStatement
from services.errors import NotFound
from services.models import Notification, utcnow
from services.notifications.schemas import NotificationOut, ReadAllResult, UnreadCount
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Page

UNREAD_CAP = 999
N = Notification.__table__  # type: ignore[attr-defined]
# The columns the inbox shows, read as plain rows (no ORM entities to build and track for a read).
_ITEM = sa.select(
    N.c.id,
    N.c.category,
    N.c.critical,
    N.c.title,
    N.c.body,
    N.c.data,
    N.c.community_id,
    N.c.created_at,
    N.c.read_at,
)


def _shape(after: bool, unread_only: bool, _dialect: Dialect) -> sa.Select[Any]:
    stmt = _ITEM.where(N.c.user_id == sa.bindparam("user_id"))
    if after:
        stmt = stmt.where(N.c.id < sa.bindparam("after"))
    if unread_only:
        stmt = stmt.where(N.c.read_at.is_(None))
    return stmt.order_by(N.c.id.desc()).limit(sa.bindparam("limit"))


_ITEM_KEYS = tuple(c.name for c in _ITEM.selected_columns)
# Built once per shape (cursor or not, unread only or not) and run on the driver (services.driver_sql):
# every app start and badge poll reads it.
_PAGES = {(a, u): DriverStatement(partial(_shape, a, u)) for a in (False, True) for u in (False, True)}
# Bounded: never scan a whole inbox to draw a badge.
_UNREAD = DriverStatement(
    lambda _dialect: sa.select(sa.func.count()).select_from(
        sa.select(N.c.id)
        .where(N.c.user_id == sa.bindparam("user_id"), N.c.read_at.is_(None))
        .limit(UNREAD_CAP)
        .subquery()
    )
)


async def list_inbox(
    ctx: Ctx, limit: int, cursor: str | None, unread_only: bool = False
) -> Page[NotificationOut]:
    user_id = ctx.require_principal().user_id
    after = id_after(cursor)
    params = {"user_id": user_id, "limit": limit, "after": after}
    rows = await _PAGES[(after is not None, unread_only)].rows(ctx.session, params)
    return Page(
        # Keyword arguments, not from_attributes: that probes every missing field (category_label).
        items=[NotificationOut(**dict(zip(_ITEM_KEYS, n, strict=True))) for n in rows],
        next_cursor=next_id_cursor([n[0] for n in rows], limit),
    )


async def unread_count(ctx: Ctx) -> UnreadCount:
    user_id = ctx.require_principal().user_id
    count = await count_unread(ctx, user_id)
    return UnreadCount(unread=count, capped=count >= UNREAD_CAP)


async def count_unread(ctx: Ctx, user_id: int) -> int:
    ((count,),) = await _UNREAD.rows(ctx.session, {"user_id": user_id})
    return int(count)


async def mark_read(ctx: Ctx, notification_id: int) -> NotificationOut:
    user_id = ctx.require_principal().user_id
    row = (
        await ctx.session.exec(
            select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("notification.not_found")
    if row.read_at is None:
        row.read_at = utcnow()
        ctx.session.add(row)
        await ctx.session.flush()
    return NotificationOut.model_validate(row)


async def mark_all_read(ctx: Ctx) -> ReadAllResult:
    user_id = ctx.require_principal().user_id
    result = await ctx.session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    return ReadAllResult(marked=result.rowcount or 0)  # type: ignore[attr-defined]
