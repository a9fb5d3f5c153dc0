"""notify(): write inbox rows and their deliveries inside the caller's transaction.

A repeated event with the same dedupe key is a no-op (unique keys, ON CONFLICT DO NOTHING), so a
retried request or job can call notify() again safely.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import defer_after_commit, insert_for
from services.driver_sql import DriverStatement
from services.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Device,
    Notification,
    QuietHours,
    User,
    utcnow,
)
from services.notifications import audience
from services.notifications.audience import Recipient
from services.notifications.catalog import category as get_category
from services.notifications.catalog import render

CHUNK = 2_500  # recipients per round of statements (set-based: the count barely matters)
ROWS = 500  # rows per multi-VALUES INSERT
DELIVERIES = "deliveries"


async def notify(
    session: AsyncSession,
    recipients: Iterable[int],
    category: str,
    template: str,
    data: dict[str, Any],
    dedupe_key: str,
    *,
    community_id: int | None = None,
) -> list[int]:
    """Returns the ids of the inbox rows created now (empty when all were already there)."""
    cat = get_category(category)
    users = sorted(set(recipients))
    created: list[int] = []
    for start in range(0, len(users), CHUNK):
        created += await notify_recipients(
            session,
            await audience.by_ids(session, users[start : start + CHUNK], cat.name),
            category,
            template,
            data,
            dedupe_key,
            community_id=community_id,
        )
    return created


async def notify_recipients(
    session: AsyncSession,
    recipients: list[Recipient],
    category: str,
    template: str,
    data: dict[str, Any],
    dedupe_key: str,
    *,
    community_id: int | None = None,
) -> list[int]:
    """notify() for recipients already loaded (services.notifications.audience: a caller that picks
    its audience in SQL saves the round trip of looking the people up first).

    Set-based: one INSERT … SELECT of inbox rows per distinct rendering (locale), one of push
    deliveries (a join with the devices) and, for critical items, one of SMS deliveries. Only the few
    recipients with quiet hours or a muted push channel get their deliveries row by row."""
    cat = get_category(category)
    critical = cat.critical
    if not recipients:
        return []
    now = utcnow()
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    rendered: dict[str, tuple[str, str]] = {}
    for r in recipients:
        if r.locale not in rendered:
            rendered[r.locale] = render(template, r.locale, data)
        groups[rendered[r.locale]].append(r.id)
    payload = {
        **{k: v for k, v in data.items() if isinstance(v, str | int | float | bool)},
        "template": template,
    }
    name = audience.dialect(session)
    # Critical items ignore opt-outs and quiet hours; otherwise the few who set either get their
    # deliveries row by row below, everyone else set-based.
    special_users = set() if critical else {r.id for r in recipients if r.muted or r.quiet is not None}
    inserted: list[tuple[int, int]] = []
    new_ids: list[int] = []
    for (title, body), ids in groups.items():
        params = {
            "ids": ids,
            "p_community_id": community_id,
            "p_category": cat.name,
            "p_critical": critical,
            "p_title": title,
            "p_body": body,
            "p_data": payload,
            "p_dedupe_key": dedupe_key,
            "p_created_at": now,
        }
        if name == "postgresql":  # the inbox rows and their deliveries in one statement
            plain_users = [i for i in ids if i not in special_users]
            keyed = {"plain": plain_users, "key_prefix": f"{dedupe_key}:u", "at": now}
            for kind, row_id, user_id in await _INBOX_AND_DELIVERIES[critical].rows(session, params | keyed):
                if kind == "n":
                    inserted.append((int(row_id), int(user_id)))
                else:
                    new_ids.append(int(row_id))
        else:
            result = await (await session.connection()).execute(_inbox_insert(name), params)
            inserted += [(int(n), int(uid)) for n, uid in result.all()]
    if not inserted:
        return []
    fresh = {user_id for _, user_id in inserted}
    muted = {r.id for r in recipients if r.id in special_users and r.muted and r.id in fresh}
    quiet = {r.id: r.quiet for r in recipients if r.id in special_users and r.quiet and r.id in fresh}
    special = muted | set(quiet)
    plain = [n for n, user_id in inserted if user_id not in special]
    if plain and name != "postgresql":
        conn = await session.connection()
        keyed = {"ids": plain, "key_prefix": f"{dedupe_key}:u", "at": now}
        new_ids += [int(i) for i in (await conn.execute(_push_insert(name), keyed)).scalars()]
        if critical:  # people without the app hear of critical items by SMS
            new_ids += [int(i) for i in (await conn.execute(_sms_insert(name), keyed)).scalars()]
    if special:
        new_ids += await _special_deliveries(
            session, [(n, uid) for n, uid in inserted if uid in special], muted, quiet, dedupe_key, now
        )
    # Handed to the broker once the caller's transaction commits (see services.notifications.relay).
    defer_after_commit(session, DELIVERIES, new_ids)
    return [notification_id for notification_id, _ in inserted]


# The hot statements, built once per dialect with bound parameters (see services.notifications.audience).

_AT = sa.DateTime(timezone=True)


def _insert(session_dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session_dialect == "postgresql" else sqlite.insert


@cache
def _inbox_insert(name: str) -> Any:
    """One inbox row per user of `:ids` (those that exist) with one rendering; a repeat is a no-op."""
    u = User.__table__  # type: ignore[attr-defined]
    table = Notification.__table__  # type: ignore[attr-defined]
    rows = sa.select(
        u.c.id,
        sa.bindparam("p_community_id", type_=sa.BigInteger()),
        sa.bindparam("p_category", type_=sa.String()),
        sa.bindparam("p_critical", type_=sa.Boolean()),
        sa.bindparam("p_title", type_=sa.String()),
        sa.bindparam("p_body", type_=sa.String()),
        sa.bindparam("p_data", type_=sa.JSON()),
        sa.bindparam("p_dedupe_key", type_=sa.String()),
        sa.bindparam("p_created_at", type_=_AT),
    ).where(audience.in_ids("ids", u.c.id, name))
    columns = ["user_id", "community_id", "category", "critical", "title", "body", "data", "dedupe_key"]
    return (
        _insert(name)(table)
        .from_select([*columns, "created_at"], rows)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(table.c.id, table.c.user_id)
    )


def _delivery_insert(name: str, rows: Any) -> Any:
    dtable = Delivery.__table__  # type: ignore[attr-defined]
    return (
        _insert(name)(dtable)
        .from_select(_DELIVERY_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(dtable.c.id)
    )


def _bound_key(user_id: Any, target: Any) -> Any:
    """`{dedupe key}:u{user}:{target}`, cut to the column's 250 characters, in SQL (`:key_prefix` is
    `{dedupe key}:u`)."""
    text = sa.bindparam("key_prefix", type_=sa.String()) + sa.cast(user_id, sa.String()) + target
    return sa.func.substr(text, 1, 250)


@cache
def _push_insert(name: str) -> Any:
    n = Notification.__table__  # type: ignore[attr-defined]
    return _delivery_insert(name, _push_rows(n, audience.in_ids("ids", n.c.id, name)))


@cache
def _sms_insert(name: str) -> Any:
    n = Notification.__table__  # type: ignore[attr-defined]
    return _delivery_insert(name, _sms_rows(n, audience.in_ids("ids", n.c.id, name)))


@cache
def _inbox_and_deliveries(critical: bool) -> Any:
    """PostgreSQL: the inbox rows of `_inbox_insert` and the deliveries of those of `:plain` users,
    in one statement (data-modifying CTEs): rows ('n', notification id, user id) and ('d', delivery
    id, NULL)."""
    inbox = _inbox_insert("postgresql").cte("new_inbox")
    plain = audience.in_ids("plain", inbox.c.user_id, "postgresql")
    parts = [_delivery_insert("postgresql", _push_rows(inbox, plain)).cte("new_push")]
    if critical:  # people without the app hear of critical items by SMS
        parts.append(_delivery_insert("postgresql", _sms_rows(inbox, plain)).cte("new_sms"))
    no_user = sa.cast(sa.null(), sa.BigInteger())
    return sa.union_all(
        sa.select(sa.literal("n", sa.String()), inbox.c.id, inbox.c.user_id),
        *(sa.select(sa.literal("d", sa.String()), part.c.id, no_user) for part in parts),
    )


# On asyncpg, past SQLAlchemy's per-execution work (services.driver_sql): every filing runs one.
_INBOX_AND_DELIVERIES = {
    False: DriverStatement(lambda _dialect: _inbox_and_deliveries(False)),
    True: DriverStatement(lambda _dialect: _inbox_and_deliveries(True)),
}


def _push_rows(n: Any, where: Any) -> Any:
    """One push delivery per enabled device of each notification's recipient, due now, carrying the
    device's provider (the worker picks the channel, and the lane, from it)."""
    d = Device.__table__  # type: ignore[attr-defined]
    at = sa.bindparam("at", type_=_AT)
    return (
        sa.select(
            n.c.id,
            n.c.user_id,
            sa.literal(Channel.push.value, sa.String()),
            d.c.id,
            d.c.provider,
            sa.literal(DeliveryStatus.pending.value, sa.String()),
            sa.literal(0, sa.Integer()),
            at,
            _bound_key(n.c.user_id, sa.literal(":d", sa.String()) + sa.cast(d.c.id, sa.String())),
            at,
        )
        .select_from(n.join(d, sa.and_(d.c.user_id == n.c.user_id, d.c.disabled_at.is_(None))))
        .where(where)
    )


def _sms_rows(n: Any, where: Any) -> Any:
    """One SMS delivery per recipient without an enabled device, due now (critical items)."""
    d = Device.__table__  # type: ignore[attr-defined]
    at = sa.bindparam("at", type_=_AT)
    has_device = sa.exists().where(d.c.user_id == n.c.user_id, d.c.disabled_at.is_(None))
    return sa.select(
        n.c.id,
        n.c.user_id,
        sa.literal(Channel.sms.value, sa.String()),
        sa.null(),
        sa.null(),
        sa.literal(DeliveryStatus.pending.value, sa.String()),
        sa.literal(0, sa.Integer()),
        at,
        _bound_key(n.c.user_id, sa.literal(":sms", sa.String())),
        at,
    ).where(where, ~has_device)


def _in(session: AsyncSession, column: Any, ids: list[int]) -> Any:
    """`column IN ids`: one array parameter on PostgreSQL (one cached statement whatever the count)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.BigInteger())))
    return column.in_(ids)


_DELIVERY_COLUMNS = [
    "notification_id",
    "user_id",
    "channel",
    "device_id",
    "provider",
    "status",
    "attempts",
    "next_attempt_at",
    "dedupe_key",
    "created_at",
]


async def _special_deliveries(
    session: AsyncSession,
    inserted: list[tuple[int, int]],
    muted: set[int],
    quiet: dict[int, QuietHours],
    dedupe_key: str,
    now: datetime,
) -> list[int]:
    """Non-critical items for recipients with quiet hours (due when the window ends) or a muted push
    channel (no push), row by row: few people set either."""
    devices: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for device_id, user_id, provider in (
        await session.exec(
            select(Device.id, Device.user_id, Device.provider).where(
                _in(session, col(Device.user_id), [uid for _, uid in inserted]),
                col(Device.disabled_at).is_(None),
            )
        )
    ).all():
        devices[user_id].append((device_id or 0, provider))
    deliveries = []
    for notification_id, user_id in inserted:
        if user_id in muted:
            continue
        due = quiet_window_end(now, quiet[user_id]) if user_id in quiet else now
        for device_id, provider in devices.get(user_id, []):
            deliveries.append(
                _delivery(notification_id, user_id, Channel.push, device_id, due, dedupe_key, now, provider)
            )
    dtable = Delivery.__table__  # type: ignore[attr-defined]
    new_ids: list[int] = []
    for start in range(0, len(deliveries), ROWS):
        new_ids += [
            int(i)
            for i in (
                await session.execute(
                    insert_for(session)(dtable)
                    .values(deliveries[start : start + ROWS])
                    .on_conflict_do_nothing(index_elements=["dedupe_key"])
                    .returning(dtable.c.id)
                )
            ).scalars()
        ]
    return new_ids


def _delivery(
    notification_id: int,
    user_id: int,
    channel: Channel,
    device_id: int | None,
    due: datetime,
    key: str,
    now: datetime,
    provider: str | None = None,
) -> dict[str, Any]:
    target = f"d{device_id}" if device_id else "sms"
    return {
        "notification_id": notification_id,
        "user_id": user_id,
        "channel": channel.value,
        "device_id": device_id,
        "provider": provider,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due,
        "dedupe_key": f"{key}:u{user_id}:{target}"[:250],
        "created_at": now,
    }


def quiet_window_end(now: datetime, q: QuietHours) -> datetime:
    """`now` if outside the window, else the moment the window ends (windows may span midnight)."""
    local = now.astimezone(ZoneInfo(q.time_zone))
    t = local.timetz().replace(tzinfo=None)
    if q.starts == q.ends:
        return now
    spans_midnight = q.starts > q.ends
    inside = (q.starts <= t or t < q.ends) if spans_midnight else (q.starts <= t < q.ends)
    if not inside:
        return now
    end = local.replace(hour=q.ends.hour, minute=q.ends.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)
