"""Drain due deliveries: claim a batch, send outside any transaction, record each outcome as it
arrives (workers.tasks.outcomes says when a duplicate is still possible). Each push goes through its
device's provider (workers.channels.registry), the providers of one batch at once, each in its lane."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.bootstrap import Resources
from services.db import transaction
from services.models import PushProvider, utcnow
from services.notifications import deliveries as q
from services.notifications.sms import SmsRejected, SmsRetryLater
from workers.channels.push import OutcomeSink, Push, PushChannel, PushOutcome
from workers.channels.registry import PushRegistry
from workers.tasks.outcomes import OutcomeRecorder

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
    released: int = 0  # claimed but not sent: the worker is stopping
    alerts: list[str] = field(default_factory=list)


async def drain_once(
    resources: Resources,
    push: PushChannel | PushRegistry,
    limit: int = BATCH,
    ids: list[int] | None = None,
    stopping: asyncio.Event | None = None,
) -> DrainStats:
    """Claim due rows (of `ids`, if given), send them, and record each outcome as it arrives (see
    workers.tasks.outcomes). Once `stopping` is set, nothing more is claimed or started. A single
    channel carries every provider; a registry picks one per provider and skips full lanes (their
    rows go out with the follow-up drain started when a slot of the lane frees up)."""
    stats = DrainStats()
    if stopping is not None and stopping.is_set():
        return stats  # the rows stay due for another worker (the broker message is acknowledged)
    registry = push if isinstance(push, PushRegistry) else PushRegistry.single(push)
    # Lanes are taken before the claim (no await in between): a provider whose lane is full keeps
    # its rows in the database, and its lane is marked as having a backlog.
    lanes, full = registry.reserve(_known_providers(registry))
    try:
        return await _drain(resources, registry, lanes, full, stats, limit, ids, stopping)
    finally:
        for provider in list(lanes):
            _release(resources, registry, provider, lanes, stopping, limit)


def _release(
    resources: Resources,
    registry: PushRegistry,
    provider: str,
    lanes: list[str],
    stopping: asyncio.Event | None,
    limit: int,
) -> None:
    """Free this drain's slot of `provider`'s lane. If a drain left rows of that provider due
    meanwhile, the slot goes straight to a follow-up drain of them (taken here, with no await in
    between, so no other drain can fill the lane first): a full lane delays those rows by one
    batch, not by the sweeper's relay grace. A follow-up claims only that provider's rows, so it
    never holds another provider's lane, and a hanging provider still ties up its own lane only."""
    if provider not in lanes:
        return
    lanes.remove(provider)
    registry.release(provider)
    lane = registry.lane(provider)
    if not lane.backlog or lane.full or (stopping is not None and stopping.is_set()):
        return
    lane.backlog = False
    lane.busy += 1
    task = asyncio.get_running_loop().create_task(
        _follow_up(resources, registry, provider, stopping, limit), name=f"push-lane-{provider}"
    )
    registry.followups.add(task)
    task.add_done_callback(registry.followups.discard)


async def _follow_up(
    resources: Resources,
    registry: PushRegistry,
    provider: str,
    stopping: asyncio.Event | None,
    limit: int,
) -> DrainStats:
    """Drain `provider`'s due rows with the lane slot `_release` took for it."""
    lanes = [provider]
    stats = DrainStats()
    try:
        if stopping is None or not stopping.is_set():
            await _drain(resources, registry, lanes, [], stats, limit, None, stopping, only=provider)
    except Exception:  # the database went away: the rows stay due for the sweeper
        log.exception("follow-up drain of %s failed", provider)
    finally:
        _release(resources, registry, provider, lanes, stopping, limit)
    return stats


def _known_providers(registry: PushRegistry) -> list[str]:
    return sorted({p.value for p in PushProvider} | set(registry.channels))


async def _drain(
    resources: Resources,
    registry: PushRegistry,
    lanes: list[str],
    full: list[str],
    stats: DrainStats,
    limit: int,
    ids: list[int] | None,
    stopping: asyncio.Event | None,
    only: str | None = None,
) -> DrainStats:
    settings = resources.runtime.settings
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    async with resources.sessionmaker() as session, transaction(session):
        claimed = await q.claim_due(
            session, limit, ids=ids, lease=lease, skip_providers=full, only_provider=only
        )
        badges = await q.unread_counts(
            session, sorted({c.user_id for c in claimed if c.channel == "push" and c.user_id is not None})
        )
    stats.claimed = len(claimed)
    if only is not None and len(claimed) >= limit:
        registry.lane(only).backlog = True  # a full batch: more may be due, the next slot takes them
    present = {c.provider or PushProvider.fcm.value for c in claimed if c.channel == "push"}
    for provider in [p for p in lanes if p not in present]:  # lanes this batch does not need
        _release(resources, registry, provider, lanes, stopping, limit)
    if not claimed:
        return stats

    recorder = OutcomeRecorder(resources, claimed, every=settings.delivery_record_seconds, lease=lease)
    by_id = {c.id: c for c in claimed}

    def on_outcome(o: PushOutcome) -> None:
        c = by_id[o.delivery_id]
        if o.status == "unsent":
            recorder.release(c)
            stats.released += 1
        elif o.status == "drop_token":
            reason = o.error_code or "token_invalid"
            recorder.finish(c, q.skipped_values(reason), drop_device=reason)
            stats.dropped += 1
        else:
            recorder.finish(c, _push_values(c, o, stats, utcnow()))

    try:
        pushes: dict[str, list[Push]] = {}
        for c in claimed:
            if c.channel != "push":
                continue
            if c.token is None:
                recorder.finish(c, q.skipped_values("device_gone"))
                stats.skipped += 1
                continue
            title, body, data = q.push_content(c)
            pushes.setdefault(c.provider or PushProvider.fcm.value, []).append(
                Push(
                    delivery_id=c.id,
                    token=c.token,
                    title=title,
                    body=body,
                    data=data,
                    collapse_key=c.dedupe_key,
                    badge=badges.get(c.user_id or 0, 0),
                    priority="high" if c.critical else "normal",
                    platform=c.platform or "android",
                )
            )
        for c in claimed:
            if c.channel == "push":
                continue
            if stopping is not None and stopping.is_set():
                recorder.release(c)
                stats.released += 1
                continue
            if q.sms_refused(c):
                recorder.finish(c, q.skipped_values("sms_not_consented"))
                stats.skipped += 1
                continue
            await _send_sms(resources, c, recorder, stats)
        if pushes:
            # The providers at once: a slow one delays only its own outcomes (each is recorded as
            # it arrives), and frees its lane when it is done.
            await asyncio.gather(
                *(
                    _send_lane(resources, registry, provider, batch, on_outcome, stopping, lanes, limit)
                    for provider, batch in sorted(pushes.items())
                )
            )
    finally:
        await recorder.close()
    return stats


async def _send_lane(
    resources: Resources,
    registry: PushRegistry,
    provider: str,
    batch: list[Push],
    on_outcome: OutcomeSink,
    stopping: asyncio.Event | None,
    lanes: list[str],
    limit: int,
) -> None:
    try:
        await registry.channel_for(provider).send(batch, on_outcome=on_outcome, stop=stopping)
    except Exception:  # a channel bug must not lose the other providers' outcomes
        log.exception("push channel %s failed on a batch of %d", provider, len(batch))
        for p in batch:
            on_outcome(PushOutcome(p.delivery_id, "retry", error_code="CHANNEL_ERROR", detail=provider))
    finally:
        # Free the lane now, not when the slowest provider of the drain is done.
        _release(resources, registry, provider, lanes, stopping, limit)


async def _send_sms(
    resources: Resources, c: q.ClaimedDelivery, recorder: OutcomeRecorder, stats: DrainStats
) -> None:
    # The notification's approved SMS template with its variables (services.notifications.sms_templates),
    # the content-free one for a sensitive item; a template without one goes out as its title and body
    # (the log provider; Aliyun's catch-all).
    sms = q.sms_content(c)
    try:
        if sms is None:
            await resources.runtime.sms.send(c.phone, f"{c.title}：{c.body}")
        else:
            await resources.runtime.sms.send(c.phone, sms.text, template=sms.key, params=sms.params)
    except SmsRejected as exc:
        recorder.finish(c, q.dead_values(f"sms rejected: {exc}"))
        stats.dead += 1
    except Exception as exc:  # recorded per delivery; one bad number must not stop the batch
        retry_after = exc.retry_after if isinstance(exc, SmsRetryLater) else None
        recorder.finish(c, q.retry_values(c, f"sms: {exc}", retry_after, utcnow()))
        stats.retried += 1
    else:
        recorder.finish(c, q.sent_values(None, utcnow()))
        stats.sent += 1


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
