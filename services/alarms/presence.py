"""Device presence: online while it speaks, `device_offline` when it stays silent beyond its interval.

Any message of a device (an MQTT reading or heartbeat, and whatever else a door calls `heard_from`
for) moves `last_heartbeat_at`. The scheduler's sweep (`sweep_offline`) marks a device silent for
longer than its `heartbeat_interval_seconds` offline and raises `device_offline`; the next message
marks it online again and clears that alarm.

Both sides change the status with a conditional UPDATE (compare and set), so a heartbeat committed
while the sweep looks never leaves a device online with an active offline alarm, nor offline after it
spoke: on PostgreSQL the second UPDATE waits for the first and re-reads its condition; on SQLite
writers are serialised anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.lifecycle import record_signal
from services.alarms.signals import AlarmSignal, SignalSource
from services.models.alarms import AlarmDevice, AlarmType, DeviceStatus

log = logging.getLogger("linli.alarms.presence")

SWEEP_BATCH = 500


def _offline_signal(active: bool, at: datetime, silent_since: datetime | None) -> AlarmSignal:
    raw = {"reason": "silent" if active else "heard"}
    if silent_since is not None:
        raw["last_heartbeat_at"] = silent_since.isoformat()
    return AlarmSignal(
        type=AlarmType.device_offline,
        active=active,
        occurred_at=at,
        severity=None,
        source=SignalSource.system,
        external_id=None,
        raw=raw,
        value=None,
        pictures=[],
    )


async def heard_from(session: AsyncSession, device: AlarmDevice, now: datetime) -> bool:
    """Note a sign of life; True when the device was offline (its offline alarm is cleared)."""
    table = AlarmDevice.__table__  # type: ignore[attr-defined]
    await session.execute(sa.update(table).where(table.c.id == device.id).values(last_heartbeat_at=now))
    back = await session.execute(
        sa.update(table)
        .where(table.c.id == device.id, table.c.status == DeviceStatus.offline)
        .values(status=DeviceStatus.online, updated_at=now)
    )
    # The ORM object follows what the core UPDATEs wrote (it stays in the session for record_signal).
    set_committed_value(device, "last_heartbeat_at", now)
    if not back.rowcount:  # type: ignore[attr-defined]
        return False
    set_committed_value(device, "status", DeviceStatus.online)
    log.info("device %s (%s) is back online", device.id, device.serial)
    await record_signal(session, device, _offline_signal(False, now, None))
    return True


async def sweep_offline(session: AsyncSession, now: datetime) -> int:
    """Mark online devices silent beyond their heartbeat interval offline and raise `device_offline`
    for each; returns how many went offline. A device that never spoke counts from its creation.
    Reads the candidates in id order, a batch at a time, so a large estate is swept whole."""
    went = 0
    after = 0
    while True:
        batch = (
            await session.exec(
                select(AlarmDevice)
                .where(
                    col(AlarmDevice.id) > after,
                    col(AlarmDevice.deleted_at).is_(None),
                    AlarmDevice.status == DeviceStatus.online,
                    col(AlarmDevice.heartbeat_interval_seconds).is_not(None),
                )
                .order_by(col(AlarmDevice.id))
                .limit(SWEEP_BATCH)
            )
        ).all()
        for device in batch:
            if await _mark_offline_if_silent(session, device, now):
                went += 1
        if len(batch) < SWEEP_BATCH:
            return went
        after = batch[-1].id or after


async def _mark_offline_if_silent(session: AsyncSession, device: AlarmDevice, now: datetime) -> bool:
    seen = device.last_heartbeat_at or device.created_at
    if seen + timedelta(seconds=device.heartbeat_interval_seconds or 0) >= now:
        return False
    table = AlarmDevice.__table__  # type: ignore[attr-defined]
    heartbeat = table.c.last_heartbeat_at
    unchanged = heartbeat.is_(None) if device.last_heartbeat_at is None else heartbeat == seen
    changed = await session.execute(
        sa.update(table)
        .where(table.c.id == device.id, table.c.status == DeviceStatus.online, unchanged)
        .values(status=DeviceStatus.offline, updated_at=now)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False  # it spoke (or was disabled) meanwhile
    set_committed_value(device, "status", DeviceStatus.offline)
    log.warning("device %s (%s) silent since %s: offline", device.id, device.serial, seen.isoformat())
    await record_signal(session, device, _offline_signal(True, now, seen))
    return True
