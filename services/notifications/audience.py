"""Who a notification reaches, in one round trip: each recipient's locale, whether they muted the
category's push channel, and their quiet hours (issue 17: this was three queries, plus the caller's
lookup of who the recipients are).

The statements are built once per dialect with bound parameters (`:ids` is one array on PostgreSQL,
an expanding IN on SQLite), so SQLAlchemy neither rebuilds them nor recomputes their cache keys on
the hot paths (a ticket filed, a status change)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Channel, NotificationPreference, QuietHours, User


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    locale: str
    muted: bool  # push turned off for the category (ignored for critical items)
    quiet: QuietHours | None  # (ignored for critical items)


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def in_ids(name: str, column: Any, dialect_name: str) -> Any:
    """`column IN :name`: one array parameter on PostgreSQL, an expanding IN elsewhere; either way the
    statement is the same whatever the number of ids (one cached compilation)."""
    if dialect_name == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.BigInteger())))
    return column.in_(sa.bindparam(name, expanding=True))


def _select(where: Callable[[Any, str], Any], dialect_name: str) -> sa.Select[Any]:
    u = User.__table__  # type: ignore[attr-defined]
    q = QuietHours.__table__  # type: ignore[attr-defined]
    p = NotificationPreference.__table__  # type: ignore[attr-defined]
    muted = sa.exists().where(
        p.c.user_id == u.c.id,
        p.c.category == sa.bindparam("category", type_=sa.String()),
        p.c.channel == Channel.push.value,
        p.c.enabled.is_(False),
    )
    return (
        sa.select(u.c.id, u.c.locale, muted.label("muted"), q.c.starts, q.c.ends, q.c.time_zone)
        .select_from(u.outerjoin(q, q.c.user_id == u.c.id))
        .where(where(u.c.id, dialect_name))
        .order_by(u.c.id)
    )


@cache
def _by_ids(dialect_name: str) -> sa.Select[Any]:
    return _select(lambda column, name: in_ids("ids", column, name), dialect_name)


@cache
def audience(where: Callable[[Any, str], Any], dialect_name: str) -> sa.Select[Any]:
    """The recipients statement for users chosen in SQL: `where(user id column, dialect)` is a
    module-level function (the cache key) whose clause names its own bound parameters."""
    return _select(where, dialect_name)


def rows(result: Sequence[Any]) -> list[Recipient]:
    return [
        Recipient(
            id=int(user_id),
            locale=locale,
            muted=bool(muted),
            quiet=QuietHours(user_id=user_id, starts=starts, ends=ends, time_zone=zone)
            if starts is not None
            else None,
        )
        for user_id, locale, muted, starts, ends, zone in result
    ]


async def by_ids(session: AsyncSession, ids: list[int], category: str) -> list[Recipient]:
    conn = await session.connection()
    result = await conn.execute(_by_ids(dialect(session)), {"ids": ids, "category": category})
    return rows(result.all())


async def chosen(
    session: AsyncSession, stmt: sa.Select[Any], params: dict[str, Any], category: str
) -> list[Recipient]:
    """Run an `audience(...)` statement."""
    conn = await session.connection()
    return rows((await conn.execute(stmt, {**params, "category": category})).all())
