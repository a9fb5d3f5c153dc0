"""The alarm lifecycle: every door's signal lands in `record_signal`; people acknowledge, clear, close
and comment through the functions below. Every change writes an alarm_event row (the history).

One active alarm per device × type: a repeat (eventState active again, activePostCount > 1, a reading
still over the threshold) counts on the open alarm; an inactive signal clears it. The partial unique
index settles a race between two first events: the loser's insert fails inside a savepoint and it
counts a repeat on the winner's row.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.alarms.messages  # noqa: F401  (registers the error codes)
from services.alarms import routing
from services.alarms.pictures import store_pictures
from services.alarms.signals import AlarmSignal, OutcomeStatus, SignalOutcome
from services.attachments.service import PreparedUpload
from services.config import Settings, get_settings
from services.errors import Conflict
from services.models.alarms import (
    ACTIVE_STATUSES,
    Alarm,
    AlarmDevice,
    AlarmEvent,
    AlarmEventKind,
    AlarmPicture,
    AlarmSeverity,
    AlarmStatus,
    AlarmType,
    ClearReason,
    DeviceStatus,
)
from services.models.base import utcnow

DEFAULT_SEVERITY: dict[str, AlarmSeverity] = {
    AlarmType.fire: AlarmSeverity.critical,
    AlarmType.smoke: AlarmSeverity.critical,
    AlarmType.gas_leak: AlarmSeverity.critical,
    AlarmType.smoke_detector: AlarmSeverity.critical,
    AlarmType.intrusion: AlarmSeverity.major,
    AlarmType.water_leak: AlarmSeverity.major,
    AlarmType.illegal_parking: AlarmSeverity.minor,
    AlarmType.off_post: AlarmSeverity.minor,
    AlarmType.asleep_on_post: AlarmSeverity.minor,
    AlarmType.tampering: AlarmSeverity.major,
    AlarmType.video_loss: AlarmSeverity.major,
    AlarmType.device_offline: AlarmSeverity.minor,
    AlarmType.door_open: AlarmSeverity.warning,
    AlarmType.motion: AlarmSeverity.warning,
    AlarmType.other: AlarmSeverity.warning,
}

TYPE_ZH: dict[str, str] = {
    AlarmType.intrusion: "区域入侵",
    AlarmType.smoke: "烟雾",
    AlarmType.fire: "明火",
    AlarmType.illegal_parking: "违章停车（占用消防通道）",
    AlarmType.off_post: "人员离岗",
    AlarmType.asleep_on_post: "人员睡岗",
    AlarmType.tampering: "视频遮挡",
    AlarmType.video_loss: "视频丢失",
    AlarmType.motion: "移动侦测",
    AlarmType.gas_leak: "燃气泄漏",
    AlarmType.smoke_detector: "烟感报警",
    AlarmType.water_leak: "漏水",
    AlarmType.door_open: "门磁打开",
    AlarmType.device_offline: "设备离线",
    AlarmType.other: "其他告警",
}


def _event(alarm: Alarm, kind: AlarmEventKind, at: datetime, **kw: object) -> AlarmEvent:
    return AlarmEvent(alarm_id=alarm.id or 0, community_id=alarm.community_id, kind=kind, at=at, **kw)  # type: ignore[arg-type]  # kw: actor_id, note, data


async def _active(session: AsyncSession, device_id: int, type_: str, *, lock: bool) -> Alarm | None:
    stmt = select(Alarm).where(
        Alarm.device_id == device_id, Alarm.type == type_, col(Alarm.status).in_(ACTIVE_STATUSES)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def _picture_count(session: AsyncSession, alarm_id: int) -> int:
    return int(
        (await session.exec(select(func.count()).where(AlarmPicture.alarm_id == alarm_id))).one()  # type: ignore[call-overload]  # count() of a table
    )


async def record_signal(
    session: AsyncSession,
    device: AlarmDevice,
    signal: AlarmSignal,
    *,
    settings: Settings | None = None,
    prepared: list[PreparedUpload] | None = None,
) -> SignalOutcome:
    """Apply one device signal in the caller's transaction (flushes, never commits).

    `prepared`: the signal's pictures already checked by the door before its transaction; when None
    the raw `signal.pictures` are checked here."""
    settings = settings or get_settings()
    assert device.id is not None
    if device.status == DeviceStatus.disabled or device.deleted_at is not None:
        return SignalOutcome(OutcomeStatus.stored)  # a switched-off device raises nothing (doors refuse it)
    now = utcnow()
    device.last_event_at = now
    session.add(device)
    # The device row is locked first by every signal, so signals of one device queue up instead of
    # deadlocking on each other's alarm rows (measured on PostgreSQL in the alarms bench).
    await session.flush()
    if signal.pictures and prepared is None:
        from services.alarms.pictures import prepare_pictures

        prepared = await prepare_pictures(settings, signal.pictures)
    uploads = prepared or []

    current = await _active(session, device.id, signal.type, lock=True)
    if not signal.active:
        if current is None:
            return SignalOutcome(OutcomeStatus.stored)
        current.status = AlarmStatus.cleared
        current.cleared_at = now
        current.clear_reason = ClearReason.device
        current.updated_at = now
        session.add(current)
        session.add(
            _event(current, AlarmEventKind.cleared, now, data={"by": "device", "source": signal.source})
        )
        await stop_escalation(session, current)
        await session.flush()
        return SignalOutcome(OutcomeStatus.cleared, current.id)

    if current is None:
        alarm = Alarm(
            community_id=device.community_id,
            device_id=device.id,
            building_id=device.building_id,
            type=signal.type,
            severity=signal.severity or DEFAULT_SEVERITY.get(signal.type, AlarmSeverity.warning),
            title=(signal.title or f"{device.name}：{TYPE_ZH.get(signal.type, signal.type)}")[:200],
            source=signal.source,
            value=signal.value,
            first_seen_at=now,
            last_seen_at=now,
            raw_event=signal.raw,
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(alarm)
                await session.flush()
        except sa.exc.IntegrityError:
            # Another request raised the same device × type a moment ago: count on its row.
            current = await _active(session, device.id, signal.type, lock=True)
            if current is None:
                raise
        else:
            data = {
                "source": signal.source,
                "external_id": signal.external_id,
                "occurred_at": signal.occurred_at.isoformat(),
            }
            session.add(_event(alarm, AlarmEventKind.raised, now, data=data))
            await store_pictures(session, settings, alarm, uploads, device.created_by, 0)
            await routing.on_alarm_raised(session, alarm)  # its rule may also file the ticket
            await session.flush()
            return SignalOutcome(OutcomeStatus.created, alarm.id)

    assert current is not None and current.id is not None
    current.count += 1
    current.last_seen_at = now
    current.updated_at = now
    if signal.value is not None:
        current.value = signal.value
    session.add(current)
    session.add(
        _event(current, AlarmEventKind.repeated, now, data={"count": current.count, "source": signal.source})
    )
    if uploads:
        already = await _picture_count(session, current.id)
        await store_pictures(session, settings, current, uploads, device.created_by, already)
    await session.flush()
    return SignalOutcome(OutcomeStatus.repeated, current.id)


# --- people acting on an alarm (the caller has loaded it through the access filter) ---------------
# acknowledge / clear / close stay synchronous; their async callers then `await stop_escalation(...)`
# (the escalation sweep also cancels the stages of any alarm it finds no longer unacknowledged).


async def stop_escalation(session: AsyncSession, alarm: Alarm) -> int:
    """Acknowledging, clearing or closing stops the clock: pending escalation stages are cancelled."""
    assert alarm.id is not None
    return await routing.cancel_escalations(session, alarm.id, utcnow())


def acknowledge(session: AsyncSession, alarm: Alarm, actor_id: int, note: str | None) -> None:
    if alarm.status == AlarmStatus.active_acknowledged:
        raise Conflict("alarm.already_acknowledged")
    if alarm.status != AlarmStatus.active_unacknowledged:
        raise Conflict("alarm.not_active", details={"status": alarm.status})
    now = utcnow()
    alarm.status = AlarmStatus.active_acknowledged
    alarm.acknowledged_at = now
    alarm.acknowledged_by = actor_id
    alarm.updated_at = now
    session.add(alarm)
    session.add(_event(alarm, AlarmEventKind.acknowledged, now, actor_id=actor_id, note=note))


def clear(session: AsyncSession, alarm: Alarm, actor_id: int, reason: ClearReason, note: str | None) -> None:
    if alarm.status not in ACTIVE_STATUSES:
        raise Conflict("alarm.already_cleared", details={"status": alarm.status})
    now = utcnow()
    alarm.status = AlarmStatus.cleared
    alarm.cleared_at = now
    alarm.cleared_by = actor_id
    alarm.clear_reason = reason
    alarm.updated_at = now
    session.add(alarm)
    session.add(
        _event(alarm, AlarmEventKind.cleared, now, actor_id=actor_id, note=note, data={"reason": reason})
    )


def close(session: AsyncSession, alarm: Alarm, actor_id: int, note: str | None) -> None:
    if alarm.status == AlarmStatus.closed:
        raise Conflict("alarm.closed")
    if alarm.status != AlarmStatus.cleared:
        raise Conflict("alarm.not_cleared", details={"status": alarm.status})
    now = utcnow()
    alarm.status = AlarmStatus.closed
    alarm.closed_at = now
    alarm.closed_by = actor_id
    alarm.updated_at = now
    session.add(alarm)
    session.add(_event(alarm, AlarmEventKind.closed, now, actor_id=actor_id, note=note))


def comment(session: AsyncSession, alarm: Alarm, actor_id: int, note: str) -> None:
    session.add(_event(alarm, AlarmEventKind.commented, utcnow(), actor_id=actor_id, note=note))
