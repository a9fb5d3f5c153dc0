"""Retention: what outlived its period goes, in batches, and the run says what it removed; what is
younger, still active, or shared with a ticket stays. Data is made through the HTTP API (a camera's
alarm with its detection picture, cleared and closed by the manager) plus finished deliveries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import retention
from services.alarms.simulator import CameraEvent, SimDevice, SimReport, send_camera
from services.attachments.storage import LocalStorage
from services.bootstrap import Resources
from services.config import Settings
from services.models import AuditLog, utcnow
from services.models.alarms import Alarm, AlarmPicture
from services.models.attachments import Attachment
from services.models.notifications import Delivery, Notification
from tests import factories as f
from tests.conftest import App
from workers.runner import JOBS
from workers.tasks.retention import enforce_retention


async def _count(db: AsyncSession, stmt: object) -> int:
    return int((await db.exec(stmt)).one())  # type: ignore[call-overload]


async def test_old_alarm_payloads_pictures_sms_and_errors_go_the_rest_stays(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
) -> None:
    w = await f.ticket_world(db)
    cam = await f.alarm_device(client, w.manager, w.cid)
    sim = SimDevice(w.cid, cam["serial"], cam["secret"], "camera")
    report = SimReport()
    status, old = await send_camera(
        client, "", CameraEvent(sim, "fielddetection", True, 1, "multipart"), report
    )
    assert status == 200 and old is not None
    status, live = await send_camera(
        client, "", CameraEvent(sim, "shelteralarm", True, 1, "multipart"), report
    )
    assert status == 200 and live is not None
    for step, body in (("clear", {"reason": "false_alarm", "note": "风吹树枝"}), ("close", {})):
        r = await client.post(f"/v1/alarms/{old['alarm_id']}/{step}", json=body, headers=f.auth(w.manager))
        assert r.status_code == 200, r.text

    pictures = (
        await db.exec(
            select(Attachment).join(AlarmPicture, col(AlarmPicture.attachment_id) == Attachment.id)
            .where(AlarmPicture.alarm_id == old["alarm_id"])
        )
    ).all()  # fmt: skip
    assert len(pictures) == 1
    picture = pictures[0]
    storage = LocalStorage(settings.files_dir)
    assert await storage.get(picture.storage_key)
    # A ticket photo made from another alarm picture shares its stored file: that file must stay.
    [live_picture] = (
        await db.exec(
            select(Attachment).join(AlarmPicture, col(AlarmPicture.attachment_id) == Attachment.id)
            .where(AlarmPicture.alarm_id == live["alarm_id"])
        )
    ).all()  # fmt: skip

    # Finished deliveries: an SMS to an SMS-only number, and a push whose provider error quoted a token.
    sms_only = Notification(
        user_id=None,
        phone="13900001111",
        category="notice",
        title="停水",
        body="明天停水",
        dedupe_key="ret:n1",
    )
    pushed = Notification(
        user_id=w.resident.id, category="notice", title="停水", body="明天停水", dedupe_key="ret:n2"
    )
    db.add_all([sms_only, pushed])
    await db.flush()
    db.add_all(
        [
            Delivery(notification_id=sms_only.id or 0, channel="sms", status="sent", dedupe_key="ret:sms"),
            Delivery(
                notification_id=pushed.id or 0, user_id=w.resident.id, channel="push", status="dead",
                last_error="InvalidRegistration token=fcm-abc", dedupe_key="ret:push",
            ),
        ]
    )  # fmt: skip
    await db.flush()
    picture_id, picture_key, live_key, sms_only_id = (
        picture.id,
        picture.storage_key,
        live_picture.storage_key,
        sms_only.id,
    )
    audit_rows = await _count(db, select(func.count()).select_from(AuditLog))
    assert audit_rows > 0  # the device registration and the alarm's clear are audited

    # Tomorrow nothing is old enough.
    assert await retention.enforce(sessionmaker, settings, storage, utcnow() + timedelta(days=1)) == {}

    later = utcnow() + timedelta(days=200)
    removed = await retention.enforce(sessionmaker, settings, storage, later)
    assert removed == {"sms": 2, "delivery_errors": 1, "alarm_raw": 1, "alarm_pictures": 1}
    db.expire_all()
    old_alarm = await db.get(Alarm, old["alarm_id"])
    live_alarm = await db.get(Alarm, live["alarm_id"])
    assert old_alarm is not None and old_alarm.raw_event == {} and old_alarm.status == "closed"
    assert live_alarm is not None and live_alarm.raw_event  # still active: kept whole
    assert await _count(db, select(func.count()).where(AlarmPicture.alarm_id == old["alarm_id"])) == 0
    assert await db.get(Attachment, picture_id) is None
    assert not (Path(settings.files_dir) / picture_key).exists()
    assert (Path(settings.files_dir) / live_key).exists()
    assert await db.get(Notification, sms_only_id) is None
    kept = (await db.exec(select(Delivery).where(Delivery.dedupe_key == "ret:push"))).one()
    assert kept.last_error is None and kept.status == "dead"
    run = (await db.exec(select(AuditLog).where(AuditLog.action == "retention.enforce"))).one()
    assert run.after == removed
    # A second run finds nothing; audit rows go only after three years.
    assert await retention.enforce(sessionmaker, settings, storage, later) == {}
    assert await _count(db, select(func.count()).select_from(AuditLog)) == audit_rows + 1
    removed = await retention.enforce(sessionmaker, settings, storage, utcnow() + timedelta(days=1200))
    assert removed["audit"] == audit_rows  # not the 200-day run's report: younger than three years
    assert await _count(db, select(func.count()).select_from(AuditLog)) == 2  # the two runs' reports


async def test_shared_files_and_zero_periods_are_kept(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    w = await f.ticket_world(db)
    cam = await f.alarm_device(client, w.manager, w.cid)
    sim = SimDevice(w.cid, cam["serial"], cam["secret"], "camera")
    status, out = await send_camera(
        client, "", CameraEvent(sim, "fielddetection", True, 1, "multipart"), SimReport()
    )
    assert status == 200 and out is not None
    for step, body in (("clear", {}), ("close", {})):
        r = await client.post(f"/v1/alarms/{out['alarm_id']}/{step}", json=body, headers=f.auth(w.manager))
        assert r.status_code == 200, r.text
    [picture] = (
        await db.exec(
            select(Attachment).join(AlarmPicture, col(AlarmPicture.attachment_id) == Attachment.id)
            .where(AlarmPicture.alarm_id == out["alarm_id"])
        )
    ).all()  # fmt: skip
    ticket_copy = Attachment(
        community_id=w.cid, owner_type="ticket", owner_id=1, purpose="before",
        content_type=picture.content_type, size_bytes=picture.size_bytes, sha256=picture.sha256,
        storage_key=picture.storage_key, thumb_key=picture.thumb_key, uploaded_by=w.manager.id or 0,
    )  # fmt: skip
    db.add(ticket_copy)
    await db.flush()
    storage = LocalStorage(settings.files_dir)
    picture_id, copy_id, copy_key = picture.id, ticket_copy.id, ticket_copy.storage_key
    medium_key = picture.medium_key
    later = utcnow() + timedelta(days=200)
    keep_all = settings.model_copy(update={k: 0 for k in (
        "retention_sms_days", "retention_delivery_error_days", "retention_alarm_raw_days",
        "retention_alarm_picture_days", "retention_audit_days",
    )})  # fmt: skip
    assert await retention.enforce(sessionmaker, keep_all, storage, later) == {}
    removed = await retention.enforce(sessionmaker, settings, storage, later)
    assert removed.get("alarm_pictures") == 1
    db.expire_all()
    assert await db.get(Attachment, picture_id) is None
    assert await db.get(Attachment, copy_id) is not None
    assert await storage.get(copy_key)  # the ticket's photo still opens
    # The alarm's medium size was not shared with the ticket's copy: removed with the picture.
    assert medium_key is not None
    assert not (settings.files_dir / medium_key).exists()


async def test_the_scheduler_runs_it_hourly(
    app: App, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    [job] = [j for j in JOBS if j.name == "enforce_retention"]
    assert job.every_seconds == 3600
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    assert await enforce_retention(resources) == 0  # nothing old in a fresh database
