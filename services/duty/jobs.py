"""Duty jobs, each taking a session inside the caller's transaction; safe to repeat and to run on several
workers at once.

- remind_shifts: tell each assignee ~1 h before a shift starts (dedupe key per shift and user, so a
  reminder goes out once however often the job runs).
- mark_missed_shifts: 15 minutes after the start with nobody checked in, the shift becomes `missed`
  (a conditional UPDATE: one racing worker wins); the secretary and the members on it are told once.
- close_finished_shifts: members who checked in but never checked out are checked out at the shift's
  end and credited (capped) hours; the shift becomes `done`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.duty.checkins import credit, shift_hours
from services.duty.common import local_label, post_label, secretaries, zone_of
from services.models import utcnow
from services.models.duty import (
    DutyCheckin,
    DutyPost,
    DutyShift,
    DutyShiftAssignee,
    LedgerSource,
    ShiftStatus,
)
from services.notifications.outbox import notify

REMIND_BEFORE = timedelta(hours=1)
MISSED_AFTER = timedelta(minutes=15)
BATCH = 500


async def _labels(session: AsyncSession, shift: DutyShift) -> dict[str, object]:
    post = await session.get(DutyPost, shift.post_id)
    zone = await zone_of(session, shift.community_id)
    return {
        "shift_id": shift.id or 0,
        "post_id": shift.post_id,
        "post": post_label(post) if post else "",
        "start_local": local_label(shift.starts_at, zone),
    }


async def remind_shifts(session: AsyncSession, now: datetime | None = None) -> int:
    """Returns the number of reminders created now."""
    now = now or utcnow()
    shifts = (
        await session.exec(
            select(DutyShift)
            .where(
                DutyShift.status == ShiftStatus.scheduled,
                col(DutyShift.starts_at) > now,
                col(DutyShift.starts_at) <= now + REMIND_BEFORE,
            )
            .order_by(col(DutyShift.starts_at))
            .limit(BATCH)
        )
    ).all()
    if not shifts:
        return 0
    people: dict[int, list[int]] = defaultdict(list)
    for shift_id, user_id in (
        await session.exec(
            select(DutyShiftAssignee.shift_id, DutyShiftAssignee.user_id).where(
                col(DutyShiftAssignee.shift_id).in_([s.id for s in shifts])
            )
        )
    ).all():
        people[shift_id].append(user_id)
    sent = 0
    for shift in shifts:
        users = people.get(shift.id or 0, [])
        if not users:
            continue
        # notify() dedupes on (user, key): the key names the shift, so each assignee gets one reminder.
        sent += len(
            await notify(
                session,
                users,
                "duty",
                "duty.shift_reminder",
                await _labels(session, shift),
                f"duty:shift:{shift.id}:remind",
                community_id=shift.community_id,
            )
        )
    return sent


async def mark_missed_shifts(session: AsyncSession, now: datetime | None = None) -> int:
    """Returns the number of shifts marked missed now."""
    now = now or utcnow()
    checked_in = sa.exists().where(col(DutyCheckin.shift_id) == DutyShift.id)
    candidates = (
        await session.exec(
            select(DutyShift.id)
            .where(
                DutyShift.status == ShiftStatus.scheduled,
                col(DutyShift.starts_at) <= now - MISSED_AFTER,
                ~checked_in,
            )
            .order_by(col(DutyShift.id))
            .limit(BATCH)
        )
    ).all()
    marked = 0
    for shift_id in candidates:
        result = await session.execute(
            sa.update(DutyShift)
            .where(col(DutyShift.id) == shift_id, col(DutyShift.status) == ShiftStatus.scheduled, ~checked_in)
            .values(status=ShiftStatus.missed, missed_at=now)
        )
        if not getattr(result, "rowcount", 0):
            continue  # another worker won, or someone checked in meanwhile
        marked += 1
        shift = await session.get(DutyShift, shift_id)
        assert shift is not None
        await session.refresh(shift)
        await notify(
            session,
            await secretaries(session, shift.community_id),
            "duty",
            "duty.shift_missed",
            await _labels(session, shift),
            f"duty:shift:{shift_id}:missed",
            community_id=shift.community_id,
        )
        # …and the members on the shift, who may not know they were expected (their own key: a
        # secretary on the shift gets both messages).
        members = (
            await session.exec(
                select(DutyShiftAssignee.user_id).where(DutyShiftAssignee.shift_id == shift_id)
            )
        ).all()
        await notify(
            session,
            members,
            "duty",
            "duty.shift_missed_member",
            await _labels(session, shift),
            f"duty:shift:{shift_id}:missed:member",
            community_id=shift.community_id,
        )
    return marked


async def close_finished_shifts(session: AsyncSession, now: datetime | None = None) -> int:
    """Returns the number of check-ins closed now."""
    now = now or utcnow()
    rows = (
        await session.exec(
            select(DutyCheckin, DutyShift)
            .join(DutyShift, col(DutyShift.id) == DutyCheckin.shift_id)
            .where(col(DutyCheckin.checkout_at).is_(None), col(DutyShift.ends_at) <= now)
            .order_by(col(DutyCheckin.id))
            .limit(BATCH)
        )
    ).all()
    closed = 0
    for checkin, shift in rows:
        result = await session.execute(
            sa.update(DutyCheckin)
            .where(col(DutyCheckin.id) == checkin.id, col(DutyCheckin.checkout_at).is_(None))
            .values(checkout_at=shift.ends_at, auto_checkout=True)
        )
        if not getattr(result, "rowcount", 0):
            continue
        closed += 1
        await session.execute(
            sa.update(DutyShift)
            .where(col(DutyShift.id) == shift.id, col(DutyShift.status) != ShiftStatus.done)
            .values(status=ShiftStatus.done)
        )
        hours = shift_hours(shift, checkin.checkin_at, shift.ends_at)
        await credit(
            session,
            checkin.user_id,
            shift.community_id,
            LedgerSource.shift,
            shift.id or 0,
            hours,
            shift.ends_at,
        )
    return closed
