"""GET /v1/notices: what the caller's memberships entitle them to see, pinned first, newest first.

One SELECT of columns (SQLAlchemy Core) with the caller's receipt LEFT JOINed for the unread marker;
then, after the read and in a write transaction of its own, one UPDATE marking the page's receipts
delivered, only when some are not yet: at most two statements per page, whatever its size. The read
never takes the write lock.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel.ext.asyncio.session import AsyncSession

from services import access
from services.deferred_writes import Write, defer_write
from services.driver_sql import DriverStatement, in_values
from services.errors import InvalidInput
from services.labels import labelled
from services.models import utcnow
from services.models.notices import AudienceType, Notice, NoticeReceipt, NoticeStatus
from services.notices.common import OVERSIGHT_ROLES
from services.notices.schemas import NoticeItem
from services.pagination import MAX_CURSOR_ID, decode_cursor, encode_cursor
from services.runtime import Ctx

N = Notice.__table__  # type: ignore[attr-defined]
R = NoticeReceipt.__table__  # type: ignore[attr-defined]

COLUMNS = (
    N.c.id,
    N.c.community_id,
    N.c.kind,
    N.c.title,
    N.c.author_role,
    N.c.status,
    N.c.pinned,
    N.c.requires_ack,
    N.c.round,
    N.c.published_at,
    N.c.expires_at,
    N.c.comment_closes_at,
    R.c.read_at,
    R.c.acked_at,
    R.c.id.label("receipt_id"),
    R.c.delivered_at,
)
# The leading columns are a NoticeItem's own fields, in order: an item is zip(ITEM_KEYS, row).
ITEM_KEYS = tuple(f for f in NoticeItem.model_fields if f in {c.name for c in COLUMNS})
assert tuple(c.name for c in COLUMNS[: len(ITEM_KEYS)]) == ITEM_KEYS, "NoticeItem's columns must lead"
_ID, _PINNED, _PUBLISHED_AT, _READ_AT, _ACKED_AT, _RECEIPT_ID, _DELIVERED_AT = (
    [c.name for c in COLUMNS].index(name)
    for name in ("id", "pinned", "published_at", "read_at", "acked_at", "receipt_id", "delivered_at")
)


def mark_delivered(user_id: int, notice_ids: list[int], at: datetime) -> Write:
    """The write that records `user_id` received these notices (first time only)."""

    async def write(session: AsyncSession) -> None:
        await session.execute(
            sa.update(R)
            .where(R.c.user_id == user_id, R.c.notice_id.in_(notice_ids), R.c.delivered_at.is_(None))
            .values(delivered_at=at)
        )

    return write


def _cursor(cursor: str | None) -> tuple[bool, datetime, int] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        pinned, at, last = values["p"], datetime.fromisoformat(values["t"]), values["id"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("pagination.invalid_cursor") from exc
    ok_id = isinstance(last, int) and not isinstance(last, bool) and 0 < last <= MAX_CURSOR_ID
    if not isinstance(pinned, bool) or not ok_id or at.tzinfo is None:
        raise InvalidInput("pagination.invalid_cursor")
    return pinned, at, last


def _after(pinned: bool) -> Any:
    """Rows after (pinned, published_at, id) in `pinned DESC, published_at DESC, id DESC` order."""
    at, last = (
        sa.bindparam("after_at", type_=N.c.published_at.type),
        sa.bindparam("after_id", type_=sa.Integer),
    )
    rest = sa.or_(N.c.published_at < at, sa.and_(N.c.published_at == at, N.c.id < last))
    same = sa.and_(N.c.pinned == pinned, rest)
    return sa.or_(N.c.pinned.is_(False), same) if pinned else same


@lru_cache(maxsize=128)
def _statement(shape: str, staff: bool, community: bool, kind: bool, after: bool | None) -> DriverStatement:
    """The feed's SELECT for one shape of request, built once per engine and run on the driver; the
    values are bound parameters."""
    return DriverStatement(lambda dialect: _select(dialect, shape, staff, community, kind, after))


def _select(
    dialect: Dialect, shape: str, staff: bool, community: bool, kind: bool, after: bool | None
) -> Any:
    visible = (
        sa.true()
        if shape == "all"
        else sa.or_(
            N.c.audience_type == AudienceType.community,
            R.c.id.is_not(None),
            in_values(N.c.community_id, "staff_of", dialect) if staff else sa.false(),
        )
    )
    stmt = (
        sa.select(*COLUMNS)
        .select_from(N.outerjoin(R, sa.and_(R.c.notice_id == N.c.id, R.c.user_id == sa.bindparam("user_id"))))
        .where(
            access.bound_community_filter(shape, N.c.community_id, dialect),
            N.c.status == NoticeStatus.published,
            sa.or_(N.c.expires_at.is_(None), N.c.expires_at > sa.bindparam("now", type_=N.c.expires_at.type)),
            visible,
        )
        .order_by(N.c.pinned.desc(), N.c.published_at.desc(), N.c.id.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if community:
        stmt = stmt.where(N.c.community_id == sa.bindparam("community_id"))
    if kind:
        stmt = stmt.where(N.c.kind == sa.bindparam("kind", type_=N.c.kind.type))
    if after is not None:
        stmt = stmt.where(_after(after))
    return stmt


async def feed(
    ctx: Ctx,
    *,
    community_id: int | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the caller's feed as plain dicts (the route renders them with orjson)."""
    p = ctx.require_principal()
    now = utcnow()
    after = _cursor(cursor)
    staff_of = sorted(cid for cid, roles in p.community_roles.items() if roles & OVERSIGHT_ROLES)
    shape = access.filter_shape(p)
    params: dict[str, Any] = {"user_id": p.user_id, "now": now, "limit": limit}
    if staff_of:
        params["staff_of"] = staff_of
    if shape == "some":
        params["communities"] = sorted(p.member_community_ids)
    if community_id is not None:
        params["community_id"] = community_id
    if kind is not None:
        params["kind"] = kind
    if after is not None:
        params["after_at"], params["after_id"] = after[1], after[2]
    stmt = _statement(
        shape,
        bool(staff_of),
        community_id is not None,
        kind is not None,
        None if after is None else after[0],
    )
    rows = await stmt.rows(ctx.session, params)
    # Plain dicts shaped as NoticeItem (the route renders them with orjson, as the ticket list):
    # building 20 models with their label validator was a quarter of the feed's CPU.
    items = []
    for r in rows:
        item = dict(zip(ITEM_KEYS, r, strict=False))  # positional: a Row's attributes are slower
        item["unread"], item["acked"] = r[_READ_AT] is None, r[_ACKED_AT] is not None
        items.append(labelled(item, ctx.locale, NoticeItem.LABELS))
    # Fetched by the app = delivered (push delivery is tracked per device in `delivery`). Only receipts
    # not yet marked: a feed read again (most are) costs no write transaction.
    undelivered = [r[_ID] for r in rows if r[_RECEIPT_ID] is not None and r[_DELIVERED_AT] is None]
    if undelivered:
        defer_write(ctx.session, mark_delivered(p.user_id, undelivered, now))
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        assert last[_PUBLISHED_AT] is not None
        next_cursor = encode_cursor(
            {"p": last[_PINNED], "t": last[_PUBLISHED_AT].isoformat(), "id": last[_ID]}
        )
    return {"items": items, "next_cursor": next_cursor}
