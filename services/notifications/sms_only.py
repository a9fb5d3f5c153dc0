"""SMS-only recipients: a phone number without an app account (an occupant recorded by staff).

The message goes through the same outbox as everyone else's: a `notification` row (with `phone` and
no user, so it sits in nobody's inbox) and one SMS `delivery`, in the caller's transaction. Both have
unique keys (phone + event, delivery dedupe key), so a retried request or job never sends twice."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.db import defer_after_commit, insert_for
from services.models import Channel, Delivery, DeliveryStatus, Notification, utcnow
from services.notifications.catalog import category as get_category
from services.notifications.catalog import render
from services.notifications.outbox import DELIVERIES, ROWS


def sms_key(dedupe_key: str, phone: str) -> str:
    return f"{dedupe_key}:p{phone}:sms"[:250]


async def notify_phones(
    session: Any,
    phones: Iterable[str],
    category: str,
    template: str,
    data: dict[str, Any],
    dedupe_key: str,
    *,
    community_id: int | None = None,
    locale: str = "zh-CN",
) -> list[int]:
    """Queue one SMS per distinct number; returns the new delivery ids (empty on a repeat)."""
    cat = get_category(category)
    numbers = sorted({p for p in phones if p})
    if not numbers:
        return []
    title, body = render(template, locale, data)
    payload = {
        **{k: v for k, v in data.items() if isinstance(v, str | int | float | bool)},
        "template": template,
    }
    now = utcnow()
    n = Notification.__table__  # type: ignore[attr-defined]
    d = Delivery.__table__  # type: ignore[attr-defined]
    new_ids: list[int] = []
    for start in range(0, len(numbers), ROWS):
        part = numbers[start : start + ROWS]
        rows = [
            {
                "user_id": None,
                "phone": phone,
                "community_id": community_id,
                "category": cat.name,
                "critical": cat.critical,
                "title": title,
                "body": body,
                "data": payload,
                "dedupe_key": dedupe_key,
                "created_at": now,
            }
            for phone in part
        ]
        inserted = (
            await session.execute(
                insert_for(session)(n)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["phone", "dedupe_key"])
                .returning(n.c.id, n.c.phone)
            )
        ).all()
        if not inserted:
            continue
        deliveries = [
            {
                "notification_id": int(nid),
                "user_id": None,
                "channel": Channel.sms.value,
                "device_id": None,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "next_attempt_at": now,
                "dedupe_key": sms_key(dedupe_key, phone),
                "created_at": now,
            }
            for nid, phone in inserted
        ]
        new_ids += [
            int(i)
            for i in (
                await session.execute(
                    insert_for(session)(d)
                    .values(deliveries)
                    .on_conflict_do_nothing(index_elements=["dedupe_key"])
                    .returning(d.c.id)
                )
            ).scalars()
        ]
    defer_after_commit(session, DELIVERIES, new_ids)
    return new_ids
