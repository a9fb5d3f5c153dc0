"""Critical items nobody has read: after N minutes, also send them by SMS (once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import defer_after_commit, insert_for
from services.models import Channel, Delivery, Notification, utcnow
from services.notifications.outbox import DELIVERIES

LOOKBACK = timedelta(hours=24)


async def add_sms_for_unread_critical(session: AsyncSession, after_minutes: int, limit: int = 1000) -> int:
    now = utcnow()
    n = Notification.__table__  # type: ignore[attr-defined]
    d = Delivery.__table__  # type: ignore[attr-defined]
    has_sms = sa.exists().where(d.c.notification_id == n.c.id, d.c.channel == Channel.sms.value)
    rows = (
        await session.execute(
            sa.select(n.c.id, n.c.user_id, n.c.dedupe_key)
            .where(
                n.c.critical.is_(True),
                n.c.read_at.is_(None),
                n.c.created_at <= now - timedelta(minutes=after_minutes),
                n.c.created_at > now - LOOKBACK,
                ~has_sms,
            )
            .order_by(n.c.id)
            .limit(limit)
        )
    ).all()
    return await add_sms_deliveries(session, [(nid, uid, key) for nid, uid, key in rows])


async def add_sms_deliveries(session: AsyncSession, rows: Sequence[tuple[int, int, str]]) -> int:
    """An SMS delivery, due now, for each (notification id, user id, notification dedupe key); a
    notification that already has its SMS keeps it (same key as the no-device fallback), so a user
    never gets the SMS twice. The deliveries are handed to the worker after commit."""
    if not rows:
        return 0
    now = utcnow()
    d = Delivery.__table__  # type: ignore[attr-defined]
    values = [
        {
            "notification_id": nid,
            "user_id": uid,
            "channel": Channel.sms.value,
            "device_id": None,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "dedupe_key": f"{key}:u{uid}:sms"[:250],
            "created_at": now,
        }
        for nid, uid, key in rows
    ]
    new_ids = (
        await session.execute(
            insert_for(session)(d)
            .values(values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(d.c.id)
        )
    ).scalars()
    ids = [int(i) for i in new_ids]
    defer_after_commit(session, DELIVERIES, ids)
    return len(ids)
