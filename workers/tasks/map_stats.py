"""The map's counters (services/geo/stats.py): recount what changed, every EVERY seconds.

The embedded default runs this in the API process, so a ticket filed shows on the map within a few
seconds. Each pass is one short transaction: the dirty communities (services.kpis.dirty.touched),
those whose next due time passed and those without a row. The first pass of a process, and one
every FULL_EVERY after it, recounts every community: it fills the rows after the migration (no
backfill there), and catches a change the cursor could miss (a transaction that took longer than
dirty.RECENT to commit). Safe beside another scheduler: both upsert the same counts.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from dataclasses import dataclass

from services.bootstrap import Resources
from services.geo import stats
from services.kpis import dirty
from services.models import utcnow

EVERY = 2.0
FULL_EVERY = 600.0


@dataclass
class _State:
    cursor: dirty.ChangeCursor | None = None
    full_at: float = 0.0  # time.monotonic() of the last full pass


# One cursor per database (keyed by the sessionmaker: tests build many apps in one process).
_STATES: weakref.WeakKeyDictionary[object, _State] = weakref.WeakKeyDictionary()


async def refresh_map_stats(resources: Resources, full: bool = False) -> int:
    """One pass; returns the communities recounted."""
    state = _STATES.setdefault(resources.sessionmaker, _State())
    now = utcnow()
    full = full or state.cursor is None or time.monotonic() - state.full_at >= FULL_EVERY
    async with resources.unit() as session:
        if full:
            # The cursor first: whatever commits while the counts run is after it, seen next pass.
            cursor = await dirty.start_cursor(session, now)
            ids = await stats.all_ids(session)
        else:
            assert state.cursor is not None
            cursor = dataclasses.replace(state.cursor)
            ids = sorted(await dirty.touched(session, cursor, now) | set(await stats.stale_ids(session, now)))
        done = await stats.refresh(session, ids, now)
    # Advanced only once the counts are committed: a failed pass is simply done again.
    state.cursor = cursor
    if full:
        state.full_at = time.monotonic()
    return done
