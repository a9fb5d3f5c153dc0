"""Delivery rows as a work queue: atomic claims, recorded outcomes, backoff, dead letters, re-drive.

Claims are one UPDATE … RETURNING (with SKIP LOCKED on PostgreSQL), so two workers never hold the same
row; a crashed worker's claim expires at `locked_until` and the row is claimed again. A live worker
renews the claims it still holds (`renew_claims`), so the lease can be short, and a stopping worker
gives back what it will not send (`release_claims`). The outcome update is fenced by the attempt
number, so a late worker cannot overwrite a newer claim's result.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Channel, Delivery, DeliveryStatus, Device, Notification, User, utcnow
from services.models.consent import PrivacyConsent
from services.notifications.catalog import is_sensitive, lock_screen_text
from services.notifications.metrics import count_outcome
from services.notifications.sms_templates import SmsRendering, render_private, render_sms

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=10)
BASE_BACKOFF = 5.0
MAX_BACKOFF = 3600.0


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    attempts: int
    channel: str
    user_id: int | None  # None: an SMS-only recipient (services.notifications.sms_only)
    device_id: int | None
    provider: str | None
    token: str | None
    platform: str | None
    phone: str
    title: str
    body: str
    category: str
    critical: bool
    dedupe_key: str
    notification_id: int
    data: dict[str, object]
    locale: str = "zh-CN"
    # The recipient opted in to SMS for non-critical items (services.consent); critical ones ignore it.
    sms_consent: bool = False
    # An SMS-only recipient (a phone, no app account) gave the number to staff for exactly this.
    phone_only: bool = False


async def claim_due(
    session: AsyncSession,
    limit: int,
    now: datetime | None = None,
    ids: list[int] | None = None,
    lease: timedelta = LEASE,
    skip_providers: Collection[str] = (),
    only_provider: str | None = None,
) -> list[ClaimedDelivery]:
    """Claim up to `limit` due rows for `lease` (after which a crashed worker's rows are due again).
    Push rows of `skip_providers` (whose lane in this worker is full) are left for later;
    `only_provider` claims that provider's push rows and nothing else (a lane's follow-up drain; a
    push row without a provider is FCM's, as the worker sends it)."""
    now = now or utcnow()
    d = Delivery.__table__  # type: ignore[attr-defined]
    due = (
        sa.select(d.c.id)
        .where(
            sa.or_(
                sa.and_(
                    d.c.status.in_([DeliveryStatus.pending, DeliveryStatus.failed]),
                    d.c.next_attempt_at <= now,
                ),
                sa.and_(d.c.status == DeliveryStatus.sending, d.c.locked_until < now),
            )
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        due = due.where(d.c.id.in_(ids))
    if only_provider is not None:
        due = due.where(d.c.channel == Channel.push, sa.func.coalesce(d.c.provider, "fcm") == only_provider)
    if skip_providers:
        due = due.where(
            sa.or_(
                d.c.channel != Channel.push,
                d.c.provider.is_(None),
                d.c.provider.not_in(sorted(skip_providers)),
            )
        )
    claimed = (
        await session.execute(
            sa.update(d)
            .where(d.c.id.in_(due.scalar_subquery()))
            .values(status=DeliveryStatus.sending, locked_until=now + lease, attempts=d.c.attempts + 1)
            .returning(d.c.id, d.c.attempts)
        )
    ).all()
    if not claimed:
        return []
    attempts = dict(claimed)
    # The person behind the delivery: its user, or (SMS-only rows) the account that has that phone.
    # Two plain equi-joins (each on a unique index), not one OR: this is the hot claim path.
    by_phone = aliased(User, name="by_phone")
    consent = PrivacyConsent.__table__  # type: ignore[attr-defined]
    own, phone_owner = consent.alias("own_consent"), consent.alias("phone_consent")
    rows = (
        await session.execute(
            sa.select(
                Delivery,
                Notification,
                sa.func.coalesce(col(Notification.phone), col(User.phone)),
                col(Device.token),
                col(Device.platform),
                sa.func.coalesce(col(User.locale), col(by_phone.locale)),
                sa.func.coalesce(own.c.sms_non_critical, phone_owner.c.sms_non_critical),
                sa.func.coalesce(col(User.id), col(by_phone.id)),
            )
            .join(Notification, col(Notification.id) == Delivery.notification_id)
            .outerjoin(User, col(User.id) == Delivery.user_id)
            .outerjoin(
                by_phone,
                sa.and_(col(Delivery.user_id).is_(None), col(by_phone.phone) == Notification.phone),
            )
            .outerjoin(own, own.c.user_id == Delivery.user_id)
            .outerjoin(phone_owner, phone_owner.c.user_id == col(by_phone.id))
            .outerjoin(
                Device, sa.and_(col(Device.id) == Delivery.device_id, col(Device.disabled_at).is_(None))
            )
            .where(col(Delivery.id).in_(list(attempts)))
            .order_by(col(Delivery.id))
        )
    ).all()
    return [
        ClaimedDelivery(
            id=dl.id or 0,
            attempts=attempts[dl.id or 0],
            channel=dl.channel,
            user_id=dl.user_id,
            device_id=dl.device_id,
            provider=dl.provider,
            token=token,
            platform=platform,
            phone=phone or "",
            title=n.title,
            body=n.body,
            category=n.category,
            critical=n.critical,
            dedupe_key=dl.dedupe_key,
            notification_id=n.id or 0,
            data=dict(n.data or {}),
            locale=locale or "zh-CN",
            sms_consent=bool(sms_ok),
            phone_only=person_id is None,
        )
        for dl, n, phone, token, platform, locale, sms_ok, person_id in rows
    ]


async def due_ids(
    session: AsyncSession,
    limit: int,
    grace: timedelta = timedelta(seconds=10),
    after_id: int | None = None,
) -> list[int]:
    """For the sweeper: due rows the relay may have missed, failed rows whose time has come, and
    rows whose claim expired (a crashed worker). Fresh rows get a grace period for the relay.
    Pages in (next_attempt_at, id) order; `after_id` is the last id of the previous page, so one sweep
    kicks each due row once even while the workers have not claimed the earlier pages yet."""
    now = utcnow()
    d = Delivery.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(d.c.id)
        .where(
            sa.or_(
                sa.and_(d.c.status == DeliveryStatus.pending, d.c.next_attempt_at <= now - grace),
                sa.and_(d.c.status == DeliveryStatus.failed, d.c.next_attempt_at <= now),
                sa.and_(d.c.status == DeliveryStatus.sending, d.c.locked_until < now),
            )
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    if after_id is not None:
        last = d.alias("last")
        cursor = sa.select(last.c.next_attempt_at).where(last.c.id == after_id).scalar_subquery()
        stmt = stmt.where(
            sa.or_(d.c.next_attempt_at > cursor, sa.and_(d.c.next_attempt_at == cursor, d.c.id > after_id))
        )
    rows = await session.execute(stmt)
    return [int(i) for i in rows.scalars()]


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential with full jitter; never sooner than the provider's Retry-After."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(attempts - 1, 0))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


async def _finish(session: AsyncSession, c: ClaimedDelivery, **values: object) -> bool:
    result = await session.execute(
        update(Delivery)
        .where(
            col(Delivery.id) == c.id,
            col(Delivery.attempts) == c.attempts,
            col(Delivery.status) == DeliveryStatus.sending,
        )
        .values(locked_until=None, **values)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        count_outcome(c.channel, values)
    return bool(result.rowcount)  # type: ignore[attr-defined]


Finish = tuple[ClaimedDelivery, dict[str, object]]


def sent_values(message_id: str | None, now: datetime | None = None) -> dict[str, object]:
    return {
        "status": DeliveryStatus.sent,
        "sent_at": now or utcnow(),
        "provider_message_id": message_id,
        "last_error": None,
    }


def retry_values(
    c: ClaimedDelivery, error: str, retry_after: float | None = None, now: datetime | None = None
) -> dict[str, object]:
    """Failed with backoff (never sooner than Retry-After), or dead after MAX_ATTEMPTS."""
    if c.attempts >= MAX_ATTEMPTS:
        return dead_values(error)
    due = (now or utcnow()) + timedelta(seconds=backoff_seconds(c.attempts, retry_after))
    return {"status": DeliveryStatus.failed, "next_attempt_at": due, "last_error": error[:500]}


def dead_values(error: str) -> dict[str, object]:
    return {"status": DeliveryStatus.dead, "last_error": error[:500]}


def skipped_values(reason: str) -> dict[str, object]:
    return {"status": DeliveryStatus.skipped, "last_error": reason[:500]}


async def finish_many(session: AsyncSession, finishes: Sequence[Finish]) -> None:
    """Record many outcomes with one executemany per kind of outcome (asyncpg pipelines it), each
    row fenced by its claim (attempt number, status `sending`) exactly like `_finish`."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = defaultdict(list)
    for c, values in finishes:
        keys = tuple(sorted(values))
        groups[keys].append(
            {"b_id": c.id, "b_attempts": c.attempts, **{f"b_{k}": v for k, v in values.items()}}
        )
    d = Delivery.__table__  # type: ignore[attr-defined]
    for keys, params in groups.items():
        stmt = (
            sa.update(d)
            .where(
                d.c.id == sa.bindparam("b_id"),
                d.c.attempts == sa.bindparam("b_attempts"),
                d.c.status == DeliveryStatus.sending,
            )
            .values(locked_until=None, **{k: sa.bindparam(f"b_{k}") for k in keys})
        )
        conn = await session.connection()
        await conn.execute(stmt, params)
    for c, values in finishes:
        count_outcome(c.channel, values)


def _fenced_update() -> sa.Update:
    """UPDATE of one claimed row per parameter set (b_id, b_attempts): executemany, still ours only."""
    d = Delivery.__table__  # type: ignore[attr-defined]
    return sa.update(d).where(
        d.c.id == sa.bindparam("b_id"),
        d.c.attempts == sa.bindparam("b_attempts"),
        d.c.status == DeliveryStatus.sending,
    )


def _claim_params(rows: Sequence[ClaimedDelivery]) -> list[dict[str, object]]:
    # In id order, like every other multi-row update of claims, so two never wait on each other.
    return [{"b_id": c.id, "b_attempts": c.attempts} for c in sorted(rows, key=lambda c: c.id)]


async def renew_claims(
    session: AsyncSession, rows: Sequence[ClaimedDelivery], lease: timedelta, now: datetime | None = None
) -> None:
    """Push back `locked_until` of claims a live worker still holds (its sends are still out)."""
    if rows:
        conn = await session.connection()
        until = (now or utcnow()) + lease
        await conn.execute(_fenced_update().values(locked_until=until), _claim_params(rows))


async def release_claims(
    session: AsyncSession, rows: Sequence[ClaimedDelivery], unstarted: bool, now: datetime | None = None
) -> None:
    """Give claims back at once (a stopping worker): the rows are due again for any worker and the
    sweeper, instead of after the lease. Rows never handed to a provider get their attempt back."""
    if not rows:
        return
    stmt = _fenced_update().values(locked_until=now or utcnow())
    if unstarted:
        d = Delivery.__table__  # type: ignore[attr-defined]
        stmt = stmt.values(attempts=d.c.attempts - 1)
    conn = await session.connection()
    await conn.execute(stmt, _claim_params(rows))


async def mark_sent(session: AsyncSession, c: ClaimedDelivery, message_id: str | None) -> bool:
    return await _finish(session, c, **sent_values(message_id))


async def mark_retry(
    session: AsyncSession, c: ClaimedDelivery, error: str, retry_after: float | None = None
) -> bool:
    return await _finish(session, c, **retry_values(c, error, retry_after))


async def mark_dead(session: AsyncSession, c: ClaimedDelivery, error: str) -> bool:
    return await _finish(session, c, **dead_values(error))


async def mark_skipped(session: AsyncSession, c: ClaimedDelivery, reason: str) -> bool:
    return await _finish(session, c, **skipped_values(reason))


async def drop_token(session: AsyncSession, c: ClaimedDelivery, reason: str) -> None:
    """The token is dead (uninstalled app, other sender): disable the device, skip its delivery."""
    await disable_device(session, c, reason)
    await mark_skipped(session, c, reason)


async def disable_device(session: AsyncSession, c: ClaimedDelivery, reason: str) -> None:
    if c.device_id is not None:
        await session.execute(
            update(Device)
            .where(col(Device.id) == c.device_id, col(Device.disabled_at).is_(None))
            .values(disabled_at=utcnow(), disabled_reason=reason[:60])
        )


async def unread_counts(session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = (
        await session.execute(
            sa.select(col(Notification.user_id), sa.func.count())
            .where(col(Notification.user_id).in_(user_ids), col(Notification.read_at).is_(None))
            .group_by(col(Notification.user_id))
        )
    ).all()
    return {int(user_id): int(count) for user_id, count in rows}


async def redrive_by_provider(
    session: AsyncSession, delivery_ids: list[int] | None = None, provider: str | None = None
) -> dict[str, int]:
    """`redrive`, counted per provider ("sms" for SMS rows): what an admin put back, and where."""
    d = Delivery.__table__  # type: ignore[attr-defined]
    target = sa.func.coalesce(d.c.provider, d.c.channel)
    stmt = sa.select(target, sa.func.count()).where(d.c.status == DeliveryStatus.dead)
    if delivery_ids is not None:
        stmt = stmt.where(d.c.id.in_(delivery_ids))
    if provider is not None:
        stmt = stmt.where(target == provider)
    counts = {str(k): int(v) for k, v in (await session.execute(stmt.group_by(target))).all()}
    await redrive(session, delivery_ids, provider)
    return counts


async def redrive(
    session: AsyncSession, delivery_ids: list[int] | None = None, provider: str | None = None
) -> int:
    """Put dead letters back in the queue (all of them, the listed ones, and/or one provider's:
    "sms" for SMS rows)."""
    stmt = update(Delivery).where(col(Delivery.status) == DeliveryStatus.dead)
    if delivery_ids is not None:
        stmt = stmt.where(col(Delivery.id).in_(delivery_ids))
    if provider is not None:
        stmt = stmt.where(sa.func.coalesce(col(Delivery.provider), col(Delivery.channel)) == provider)
    result = await session.execute(
        stmt.values(status=DeliveryStatus.pending, attempts=0, next_attempt_at=utcnow(), locked_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def push_content(c: ClaimedDelivery) -> tuple[str, str, dict[str, str]]:
    """Title, body and data of the push for `c`. A sensitive item (complaints, party membership:
    services.notifications.catalog.is_sensitive) shows "您有一条新消息" on the lock screen and carries
    only the inbox row's id: the app fetches the content, the inbox keeps the full text."""
    ids = {"notification_id": str(c.notification_id), "category": c.category}
    if is_sensitive(c.category, c.data):
        title, body = lock_screen_text(c.locale)
        return title, body, ids | {"sensitive": "1"}
    return c.title, c.body, {k: str(v) for k, v in c.data.items()} | ids


def sms_content(c: ClaimedDelivery) -> SmsRendering | None:
    """The SMS for `c` in its approved template, or None to send its title and body. A sensitive item
    goes as "您有一条新消息，请登录邻里App查看" to an account holder, like its push; an SMS-only number
    (no account, no inbox) gets the real text, as it has no other way to read it."""
    if is_sensitive(c.category, c.data) and not c.phone_only:
        return render_private()
    return render_sms(str(c.data.get("template", "")), c.data)


def sms_refused(c: ClaimedDelivery) -> bool:
    """A non-critical SMS to someone who did not opt in (services.consent): skipped, not sent.
    Critical items always go; an SMS-only number with no app account was given to staff for it."""
    return c.channel == Channel.sms and not c.critical and not c.phone_only and not c.sms_consent
