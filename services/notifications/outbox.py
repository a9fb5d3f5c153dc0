"""notify(): write inbox rows and their deliveries inside the caller's transaction.

A repeated event with the same dedupe key is a no-op (unique keys, ON CONFLICT DO NOTHING), so a
retried request or job can call notify() again safely.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import defer_after_commit, insert_for
from services.models import (
    Channel,
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    QuietHours,
    User,
    utcnow,
)
from services.notifications.catalog import category as get_category
from services.notifications.catalog import render

CHUNK = 500
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
        created += await _notify_chunk(
            session,
            users[start : start + CHUNK],
            cat.name,
            cat.critical,
            template,
            data,
            dedupe_key,
            community_id,
        )
    return created


async def _notify_chunk(
    session: AsyncSession,
    users: list[int],
    category: str,
    critical: bool,
    template: str,
    data: dict[str, Any],
    dedupe_key: str,
    community_id: int | None,
) -> list[int]:
    now = utcnow()
    locales = (await session.exec(select(User.id, User.locale).where(col(User.id).in_(users)))).all()
    rows = []
    for user_id, locale in locales:
        title, body = render(template, locale, data)
        rows.append(
            {
                "user_id": user_id,
                "community_id": community_id,
                "category": category,
                "critical": critical,
                "title": title,
                "body": body,
                "data": {
                    **{k: v for k, v in data.items() if isinstance(v, str | int | float | bool)},
                    "template": template,
                },
                "dedupe_key": dedupe_key,
                "created_at": now,
            }
        )
    if not rows:
        return []
    table = Notification.__table__  # type: ignore[attr-defined]
    stmt = (
        insert_for(session)(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(table.c.id, table.c.user_id)
    )
    inserted = (await session.execute(stmt)).all()
    if not inserted:
        return []
    fresh = [user_id for _, user_id in inserted]
    devices: dict[int, list[int]] = defaultdict(list)
    for device_id, user_id in (
        await session.exec(
            select(Device.id, Device.user_id).where(
                col(Device.user_id).in_(fresh), col(Device.disabled_at).is_(None)
            )
        )
    ).all():
        devices[user_id].append(device_id or 0)
    muted = {
        (p.user_id, p.channel)
        for p in (
            await session.exec(
                select(NotificationPreference).where(
                    col(NotificationPreference.user_id).in_(fresh),
                    NotificationPreference.category == category,
                    col(NotificationPreference.enabled).is_(False),
                )
            )
        ).all()
    }
    quiet = {
        q.user_id: q
        for q in (await session.exec(select(QuietHours).where(col(QuietHours.user_id).in_(fresh)))).all()
    }
    deliveries = []
    for notification_id, user_id in inserted:
        due = now if critical or user_id not in quiet else quiet_window_end(now, quiet[user_id])
        push_ok = critical or (user_id, Channel.push) not in muted
        for device_id in devices.get(user_id, []) if push_ok else []:
            deliveries.append(
                _delivery(notification_id, user_id, Channel.push, device_id, due, dedupe_key, now)
            )
        # Critical items reach people without the app by SMS.
        if critical and not devices.get(user_id):
            deliveries.append(_delivery(notification_id, user_id, Channel.sms, None, due, dedupe_key, now))
    dtable = Delivery.__table__  # type: ignore[attr-defined]
    for start in range(0, len(deliveries), CHUNK):
        new_ids = (
            await session.execute(
                insert_for(session)(dtable)
                .values(deliveries[start : start + CHUNK])
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(dtable.c.id)
            )
        ).scalars()
        # Handed to the broker once the caller's transaction commits (see services.notifications.relay).
        defer_after_commit(session, DELIVERIES, [int(i) for i in new_ids])
    return [notification_id for notification_id, _ in inserted]


def _delivery(
    notification_id: int,
    user_id: int,
    channel: Channel,
    device_id: int | None,
    due: datetime,
    key: str,
    now: datetime,
) -> dict[str, Any]:
    target = f"d{device_id}" if device_id else "sms"
    return {
        "notification_id": notification_id,
        "user_id": user_id,
        "channel": channel.value,
        "device_id": device_id,
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
