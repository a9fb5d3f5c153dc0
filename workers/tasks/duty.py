"""Duty jobs for the scheduler: shift reminders, missed-shift marking, closing finished shifts.

Each runs in one unit of work (`resources.unit()`): committed, then new deliveries go to the relay.
All are safe to repeat and to run on several workers at once (see services.duty.jobs).
Suggested periods: remind_shifts 60 s, mark_missed_shifts 60 s, close_finished_shifts 300 s.
"""

from __future__ import annotations

from services.bootstrap import Resources
from services.duty import jobs


async def remind_shifts(resources: Resources) -> int:
    """Remind assignees about an hour before their shift; returns reminders created."""
    async with resources.unit() as session:
        return await jobs.remind_shifts(session)


async def mark_missed_shifts(resources: Resources) -> int:
    """Mark shifts nobody checked in to 15 minutes after the start; tell the secretary once."""
    async with resources.unit() as session:
        return await jobs.mark_missed_shifts(session)


async def close_finished_shifts(resources: Resources) -> int:
    """Check out members who forgot, at the shift's end, crediting their hours; returns check-ins closed."""
    async with resources.unit() as session:
        return await jobs.close_finished_shifts(session)
