"""Alarm KPIs (issue 15 item 8), on the same facts, periods, targets and drill-down as the others.

Alarms of type `motion` (stored, not routed) count in none of them. The response to an alarm is its
acknowledgement, or — for an alarm a person cleared without acknowledging it — that clearing.

alarm_ack_median / alarm_ack_p90  minutes from first seen to the response, over the alarms first
        seen in the period that have a response (nearest-rank quantile). Lower is better; the target
        is a maximum in minutes. The cell's numerator is quantile seconds × alarms and its denominator
        the alarms, so a company's figure is the alarm-weighted mean of its communities' quantiles
        (exact for one community). Drill-down: numerator = the alarms answered within the quantile.
alarm_ack_timeliness  alarms by first seen; numerator: answered within the severity's target
        (settings.alarm_ack_target_minutes: critical 5, major 15, minor 30, warning 60). Still active
        and unanswered before the target: not judged yet. Cleared by the device before the target
        without anyone answering: excluded ("cleared_by_device") and listed.
alarm_false_rate  alarms by cleared_at; numerator: cleared as a false alarm. Lower is better (the
        target is a maximum).
device_online_rate  devices (not disabled, not deleted) online at the period's end — "now" for the
        current period: a span over the device's life, offline while a `device_offline` alarm was
        active (first seen → cleared).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import get_settings
from services.kpis.facts import Fact
from services.models.alarms import Alarm, AlarmDevice, AlarmStatus, AlarmType, ClearReason, DeviceStatus

A = Alarm.__table__  # type: ignore[attr-defined]
D = AlarmDevice.__table__  # type: ignore[attr-defined]
ACTIVE = [AlarmStatus.active_unacknowledged.value, AlarmStatus.active_acknowledged.value]
DEFAULT_ACK_MINUTES = {"critical": 5, "major": 15, "minor": 30, "warning": 60}


def ack_minutes(severity: str) -> int:
    configured = get_settings().alarm_ack_target_minutes
    return int(configured.get(severity, DEFAULT_ACK_MINUTES.get(severity, 60)))


def _response(
    acknowledged: datetime | None, cleared: datetime | None, cleared_by: int | None
) -> datetime | None:
    if acknowledged is not None:
        return acknowledged
    return cleared if cleared is not None and cleared_by is not None else None


async def _first_seen(session: AsyncSession, cids: list[int], lo: datetime, hi: datetime) -> list[Any]:
    c = A.c
    stmt = sa.select(
        c.id, c.community_id, c.type, c.severity, c.status, c.first_seen_at, c.acknowledged_at,
        c.cleared_at, c.cleared_by, c.title,
    ).where(
        c.community_id.in_(cids), c.type != AlarmType.motion.value, c.first_seen_at >= lo, c.first_seen_at < hi
    )  # fmt: skip
    return list((await session.execute(stmt)).all())


async def ack_samples(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    out = []
    for aid, cid, type_, severity, _status, seen, acked, cleared, cleared_by, title in await _first_seen(
        session, cids, lo, hi
    ):
        answered = _response(acked, cleared, cleared_by)
        if answered is None:
            continue
        seconds = max(0.0, (answered - seen).total_seconds())
        info = {"type": type_, "severity": severity, "title": title, "first_seen_at": seen,
                "answered_at": answered, "minutes": round(seconds / 60, 2)}  # fmt: skip
        out.append(Fact(cid, aid, at=seen, sample=seconds, info=info))
    return out


async def ack_timeliness(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    out = []
    for aid, cid, type_, severity, status, seen, acked, cleared, cleared_by, title in await _first_seen(
        session, cids, lo, hi
    ):
        due = seen + timedelta(minutes=ack_minutes(severity))
        answered = _response(acked, cleared, cleared_by)
        info = {"type": type_, "severity": severity, "title": title, "first_seen_at": seen,
                "due_at": due, "answered_at": answered}  # fmt: skip
        excluded = None
        if answered is None:
            if status in ACTIVE and now < due:
                continue  # not judged yet
            if cleared is not None and cleared <= due:
                excluded = "cleared_by_device"
        num = int(answered is not None and answered <= due)
        out.append(Fact(cid, aid, at=seen, num=num, excluded=excluded, info=info))
    return out


async def false_rate(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    c = A.c
    stmt = sa.select(c.id, c.community_id, c.type, c.severity, c.cleared_at, c.clear_reason, c.title).where(
        c.community_id.in_(cids), c.type != AlarmType.motion.value, c.cleared_at >= lo, c.cleared_at < hi
    )
    return [
        Fact(cid, aid, at=cleared, num=int(reason == ClearReason.false_alarm),
             info={"type": type_, "severity": severity, "title": title, "cleared_at": cleared,
                   "clear_reason": reason})
        for aid, cid, type_, severity, cleared, reason, title in (await session.execute(stmt)).all()
    ]  # fmt: skip


async def online_rate(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    devices = (
        await session.execute(
            sa.select(D.c.id, D.c.community_id, D.c.name, D.c.created_at, D.c.deleted_at).where(
                D.c.community_id.in_(cids),
                D.c.status != DeviceStatus.disabled.value,
                D.c.created_at < hi,
                sa.or_(D.c.deleted_at.is_(None), D.c.deleted_at >= lo),
            )
        )
    ).all()
    ids = [int(d.id) for d in devices]
    offline: dict[int, list[tuple[datetime, datetime | None]]] = {}
    rows = (
        await session.execute(
            sa.select(A.c.device_id, A.c.first_seen_at, A.c.cleared_at)
            .where(
                A.c.device_id.in_(ids),
                A.c.type == AlarmType.device_offline.value,
                A.c.first_seen_at < hi,
                sa.or_(A.c.cleared_at.is_(None), A.c.cleared_at >= lo),
            )
            .order_by(A.c.device_id, A.c.first_seen_at)
        )
    ).all()
    for device_id, seen, cleared in rows:
        offline.setdefault(int(device_id), []).append((seen, cleared))
    out = []
    for d in devices:
        start: datetime | None = d.created_at
        end: datetime | None = d.deleted_at
        base = {"name": d.name}
        for seen, cleared in offline.get(int(d.id), []):
            if start is not None and seen > start:
                out.append(_span(d, start, min(seen, end) if end else seen, True, base))
            off_end = cleared if end is None or (cleared is not None and cleared < end) else end
            out.append(_span(d, max(seen, d.created_at), off_end, False, base))
            start = off_end  # None: still offline
            if start is None:
                break
        if start is not None and (end is None or start < end):
            out.append(_span(d, start, end, True, base))
    return out


def _span(d: Any, since: datetime, until: datetime | None, online: bool, base: dict[str, Any]) -> Fact:
    info = {**base, "online": online, "since": since, "until": until}
    return Fact(int(d.community_id), int(d.id), due_from=since, due_until=until, span_num=online, info=info)
