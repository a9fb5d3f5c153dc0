"""Retention (PIPL art. 19: keep personal information no longer than the purpose needs): a scheduled
job deletes, in batches of one transaction each, what has outlived its configured period, and reports
what it removed (log line, `linli_retention_removed_total`, one audit row per run that removed any).

Kinds and what "old" means (periods in days, `LINLI_RETENTION_*_DAYS`, 0 = keep forever):
  sms             SMS deliveries finished (sent / dead / skipped) before the cutoff, and the SMS-only
                  notifications (a phone number without an account) whose deliveries are all gone
  delivery_errors the provider error text of finished deliveries (it may quote numbers and tokens)
  alarm_raw       the device's raw event of a cleared or closed alarm last seen before the cutoff
                  (emptied to {}), and webhook replay receipts that old (the replay window is 5 min)
  alarm_pictures  the detection pictures of such alarms (rows and stored files; a file a ticket
                  photo shares is kept for the ticket)
  audit           audit rows (the Cybersecurity Law asks for at least 6 months of logs: the default
                  keeps three years)
  direct_uploads  presigned photo uploads issued before the cutoff (rows; the raw object of one never
                  completed is deleted from the bucket too: it may be a photo of someone's home)
Login state (OTP codes, rate-limit windows) is not kept at all past its expiry: the 5-minute job
`purge_expired_login_state` removes it.

Each batch commits on its own, so a crash loses at most one batch of work and the next run resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.attachments.storage import Storage
from services.config import Settings
from services.db import transaction
from services.models import AuditLog
from services.models.alarms import Alarm, AlarmPicture, AlarmStatus, AlarmWebhookReceipt
from services.models.attachments import Attachment, DirectUpload
from services.models.notifications import Channel, Delivery, DeliveryStatus, Notification

log = logging.getLogger("linli.retention")

REMOVED = Counter("linli_retention_removed_total", "Rows removed or emptied by the retention job", ["kind"])
BATCH = 500
FINISHED = (DeliveryStatus.sent, DeliveryStatus.dead, DeliveryStatus.skipped)
SETTLED_ALARMS = (AlarmStatus.cleared, AlarmStatus.closed)

Maker = async_sessionmaker[AsyncSession]
Step = Callable[[AsyncSession, datetime], Awaitable[int]]


async def _ids(session: AsyncSession, stmt: Any) -> list[int]:
    return [int(i) for i in (await session.exec(stmt.limit(BATCH))).all()]


async def _sms(session: AsyncSession, cutoff: datetime) -> int:
    ids = await _ids(
        session,
        select(Delivery.id).where(
            Delivery.channel == Channel.sms,
            col(Delivery.status).in_(FINISHED),
            col(Delivery.created_at) < cutoff,
        ),
    )
    if ids:
        await session.exec(sa.delete(Delivery).where(col(Delivery.id).in_(ids)))  # type: ignore[call-overload]
    orphans = await _ids(
        session,
        select(Notification.id).where(
            col(Notification.user_id).is_(None),
            col(Notification.created_at) < cutoff,
            ~sa.exists().where(col(Delivery.notification_id) == col(Notification.id)),
        ),
    )
    if orphans:
        await session.exec(sa.delete(Notification).where(col(Notification.id).in_(orphans)))  # type: ignore[call-overload]
    return len(ids) + len(orphans)


async def _delivery_errors(session: AsyncSession, cutoff: datetime) -> int:
    ids = await _ids(
        session,
        select(Delivery.id).where(
            col(Delivery.last_error).is_not(None),
            col(Delivery.status).in_(FINISHED),
            col(Delivery.created_at) < cutoff,
        ),
    )
    if ids:
        await session.exec(sa.update(Delivery).where(col(Delivery.id).in_(ids)).values(last_error=None))  # type: ignore[call-overload]
    return len(ids)


def _settled_alarms(cutoff: datetime) -> Any:
    return sa.and_(col(Alarm.status).in_(SETTLED_ALARMS), col(Alarm.last_seen_at) < cutoff)


async def _alarm_raw(session: AsyncSession, cutoff: datetime) -> int:
    emptied = sa.cast(Alarm.raw_event, sa.Text) == "{}"  # JSON (not JSONB) keeps its text on both engines
    ids = await _ids(
        session, select(Alarm.id).where(_settled_alarms(cutoff), ~emptied).order_by(col(Alarm.id))
    )
    if ids:
        await session.exec(sa.update(Alarm).where(col(Alarm.id).in_(ids)).values(raw_event={}))  # type: ignore[call-overload]
    receipts = await _ids(
        session, select(AlarmWebhookReceipt.id).where(col(AlarmWebhookReceipt.received_at) < cutoff)
    )
    if receipts:
        await session.exec(sa.delete(AlarmWebhookReceipt).where(col(AlarmWebhookReceipt.id).in_(receipts)))  # type: ignore[call-overload]
    return max(len(ids), len(receipts))


def _alarm_pictures(storage: Storage) -> Step:
    async def step(session: AsyncSession, cutoff: datetime) -> int:
        rows = (
            await session.exec(
                select(AlarmPicture.id, Attachment)
                .join(Attachment, col(Attachment.id) == AlarmPicture.attachment_id)
                .join(Alarm, col(Alarm.id) == AlarmPicture.alarm_id)
                .where(_settled_alarms(cutoff))
                .limit(BATCH)
            )
        ).all()
        if not rows:
            return 0
        attachment_ids = [a.id for _, a in rows]
        keys = {k for _, a in rows for k in a.file_keys()}
        # A ticket raised from an alarm shares its picture files (same keys): those stay.
        shared: set[str] = set()
        for column in (Attachment.storage_key, Attachment.thumb_key, Attachment.medium_key):
            shared |= {
                k
                for k in (
                    await session.exec(
                        select(column).where(col(column).in_(keys), col(Attachment.id).not_in(attachment_ids))
                    )
                ).all()
                if k
            }
        # Files first: if the transaction then fails, the next run deletes the rows (missing files
        # are fine); the other order could leave a picture nobody can find any more.
        for key in sorted(keys - shared):
            await storage.delete(key)
        await session.exec(sa.delete(AlarmPicture).where(col(AlarmPicture.id).in_([p for p, _ in rows])))  # type: ignore[call-overload]
        await session.exec(sa.delete(Attachment).where(col(Attachment.id).in_(attachment_ids)))  # type: ignore[call-overload]
        return len(rows)

    return step


def _direct_uploads(storage: Storage) -> Step:
    async def step(session: AsyncSession, cutoff: datetime) -> int:
        rows = (
            await session.exec(
                select(DirectUpload.id, DirectUpload.incoming_key, DirectUpload.completed_at)
                .where(col(DirectUpload.created_at) < cutoff)
                .limit(BATCH)
            )
        ).all()
        for _, key, completed_at in rows:
            if completed_at is None:  # a completed one's raw object was deleted on completion
                await storage.delete(key)
        if rows:
            await session.exec(sa.delete(DirectUpload).where(col(DirectUpload.id).in_([r[0] for r in rows])))  # type: ignore[call-overload]
        return len(rows)

    return step


async def _audit(session: AsyncSession, cutoff: datetime) -> int:
    ids = await _ids(
        session, select(AuditLog.id).where(col(AuditLog.created_at) < cutoff).order_by(col(AuditLog.id))
    )
    if ids:
        await session.exec(sa.delete(AuditLog).where(col(AuditLog.id).in_(ids)))  # type: ignore[call-overload]
    return len(ids)


def periods(settings: Settings) -> dict[str, int]:
    return {
        "sms": settings.retention_sms_days,
        "delivery_errors": settings.retention_delivery_error_days,
        "alarm_raw": settings.retention_alarm_raw_days,
        "alarm_pictures": settings.retention_alarm_picture_days,
        "audit": settings.retention_audit_days,
        "direct_uploads": settings.retention_direct_upload_days,
    }


async def enforce(sessionmaker: Maker, settings: Settings, storage: Storage, now: datetime) -> dict[str, int]:
    """Run every kind to completion, a batch per transaction; returns rows removed per kind."""
    steps: dict[str, Step] = {
        "sms": _sms,
        "delivery_errors": _delivery_errors,
        "alarm_raw": _alarm_raw,
        "alarm_pictures": _alarm_pictures(storage),
        "audit": _audit,
        "direct_uploads": _direct_uploads(storage),
    }
    removed: dict[str, int] = {}
    for kind, days in periods(settings).items():
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        total = 0
        while True:
            async with sessionmaker() as session, transaction(session):
                n = await steps[kind](session, cutoff)
            total += n
            if n < BATCH:
                break
        if total:
            removed[kind] = total
            REMOVED.labels(kind).inc(total)
    if removed:
        log.info("retention removed %s", removed, extra={"removed": removed})
        async with sessionmaker() as session, transaction(session):
            session.add(
                AuditLog(action="retention.enforce", entity="retention", after=removed, created_at=now)
            )
    return removed
