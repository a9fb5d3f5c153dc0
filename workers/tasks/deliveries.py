"""Drain due deliveries: claim a batch, send outside any transaction, record each outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.bootstrap import Resources
from services.db import transaction
from services.models import utcnow
from services.notifications import deliveries as q
from services.notifications.sms import SmsRejected, SmsRetryLater
from workers.channels.push import Push, PushChannel, PushOutcome

log = logging.getLogger("linli.deliveries")
BATCH = 500


@dataclass
class DrainStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    dropped: int = 0
    skipped: int = 0
    alerts: list[str] = field(default_factory=list)


async def drain_once(
    resources: Resources, push: PushChannel, limit: int = BATCH, ids: list[int] | None = None
) -> DrainStats:
    stats = DrainStats()
    async with resources.sessionmaker() as session, transaction(session):
        lease = timedelta(seconds=resources.runtime.settings.delivery_lease_seconds)
        claimed = await q.claim_due(session, limit, ids=ids, lease=lease)
        badges = await q.unread_counts(session, sorted({c.user_id for c in claimed if c.channel == "push"}))
    stats.claimed = len(claimed)
    if not claimed:
        return stats

    pushes: list[Push] = []
    by_id = {c.id: c for c in claimed}
    no_device: list[q.ClaimedDelivery] = []
    sms_results: list[tuple[q.ClaimedDelivery, Exception | None]] = []
    for c in claimed:
        if c.channel == "push":
            if c.token is None:
                no_device.append(c)
                continue
            pushes.append(
                Push(
                    delivery_id=c.id,
                    token=c.token,
                    title=c.title,
                    body=c.body,
                    data={k: str(v) for k, v in c.data.items()}
                    | {"notification_id": str(c.notification_id), "category": c.category},
                    collapse_key=c.dedupe_key,
                    badge=badges.get(c.user_id, 0),
                    priority="high" if c.critical else "normal",
                    platform=c.platform or "android",
                )
            )
        else:
            try:
                await resources.runtime.sms.send(c.phone, f"【邻里】{c.title}：{c.body}")
                sms_results.append((c, None))
            except Exception as error:  # recorded per delivery below; one bad number must not stop the batch
                sms_results.append((c, error))

    outcomes: list[PushOutcome] = await push.send(pushes) if pushes else []

    # Outcomes are written in one transaction, one executemany per kind (not one UPDATE per row).
    now = utcnow()
    finishes: list[q.Finish] = [(c, q.skipped_values("device_gone")) for c in no_device]
    stats.skipped += len(no_device)
    dropped: list[tuple[q.ClaimedDelivery, str]] = []
    for o in outcomes:
        c = by_id[o.delivery_id]
        if o.status == "drop_token":
            dropped.append((c, o.error_code or "token_invalid"))
            finishes.append((c, q.skipped_values(o.error_code or "token_invalid")))
            stats.dropped += 1
        else:
            finishes.append((c, _push_values(c, o, stats, now)))
    for c, exc in sms_results:
        if exc is None:
            finishes.append((c, q.sent_values(None, now)))
            stats.sent += 1
        elif isinstance(exc, SmsRejected):
            finishes.append((c, q.dead_values(f"sms rejected: {exc}")))
            stats.dead += 1
        else:
            retry_after = exc.retry_after if isinstance(exc, SmsRetryLater) else None
            finishes.append((c, q.retry_values(c, f"sms: {exc}", retry_after, now)))
            stats.retried += 1
    async with resources.unit() as session:
        for c, reason in dropped:
            await q.disable_device(session, c, reason)
        await q.finish_many(session, finishes)
    return stats


def _push_values(c: q.ClaimedDelivery, o: PushOutcome, stats: DrainStats, now: datetime) -> dict[str, object]:
    if o.status == "sent":
        stats.sent += 1
        return q.sent_values(o.message_id, now)
    error = f"{o.error_code or 'error'}: {o.detail or ''}".strip()
    if o.status == "dead":
        stats.dead += 1
        return q.dead_values(error)
    if o.status == "alert":
        # Our credentials or the APNs certificate are wrong: keep the token, retry later, shout.
        log.error("push alert for delivery %s: %s", c.id, error)
        stats.alerts.append(error)
    stats.retried += 1
    return q.retry_values(c, error, o.retry_after_seconds, now)
