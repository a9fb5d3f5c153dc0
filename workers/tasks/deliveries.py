"""Drain due deliveries: claim a batch, send outside any transaction, record each outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.db import transaction
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

    async with resources.unit() as session:
        for c in no_device:
            await q.mark_skipped(session, c, "device_gone")
            stats.skipped += 1
        for o in outcomes:
            await _record_push(session, by_id[o.delivery_id], o, stats)
        for c, exc in sms_results:
            if exc is None:
                await q.mark_sent(session, c, None)
                stats.sent += 1
            elif isinstance(exc, SmsRejected):
                await q.mark_dead(session, c, f"sms rejected: {exc}")
                stats.dead += 1
            else:
                retry_after = exc.retry_after if isinstance(exc, SmsRetryLater) else None
                await q.mark_retry(session, c, f"sms: {exc}", retry_after)
                stats.retried += 1
    return stats


async def _record_push(
    session: AsyncSession, c: q.ClaimedDelivery, o: PushOutcome, stats: DrainStats
) -> None:
    error = f"{o.error_code or 'error'}: {o.detail or ''}".strip()
    if o.status == "sent":
        await q.mark_sent(session, c, o.message_id)
        stats.sent += 1
    elif o.status == "drop_token":
        await q.drop_token(session, c, o.error_code or "token_invalid")
        stats.dropped += 1
    elif o.status == "dead":
        await q.mark_dead(session, c, error)
        stats.dead += 1
    elif o.status == "alert":
        # Our credentials or the APNs certificate are wrong: keep the token, retry later, shout.
        log.error("push alert for delivery %s: %s", c.id, error)
        stats.alerts.append(error)
        await q.mark_retry(session, c, error, o.retry_after_seconds)
        stats.retried += 1
    else:
        await q.mark_retry(session, c, error, o.retry_after_seconds)
        stats.retried += 1
