"""The instant the tests run at. The suite never reads the machine's date: every test starts at
LINLI_TEST_NOW (an ISO 8601 instant with offset, or `today` for the real time at start-up, frozen
for the run) and time flows on from there, so a test that passes once passes on any day.

`.ci/run` runs the calendar-sensitive tests (marker `calendar`) again at each of INSTANTS.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

# Mid-month Tuesday, a working day, 10:00 in Asia/Shanghai: the default when nothing is set.
DEFAULT = "2026-06-16T10:00:00+08:00"

# The instants CI also runs at: the edges of a month, of a year, a statutory holiday, a make-up
# working day and a year the calendar package knows only by rule.
INSTANTS = {
    "first-of-month-just-after-midnight": "2027-03-01T00:30:00+08:00",  # still 28 Feb in UTC
    "last-of-month": "2026-09-30T23:30:00+08:00",  # eve of the National Day holiday
    "new-years-eve": "2026-12-31T23:30:00+08:00",
    "spring-festival": "2026-02-18T10:00:00+08:00",  # 正月初二, a statutory day off
    "make-up-working-day": "2026-02-28T10:00:00+08:00",  # a Saturday worked (调休上班)
    "in-2027": "2027-07-15T10:00:00+08:00",
}


def parse(raw: str) -> datetime:
    """An ISO 8601 instant with offset, a name from INSTANTS, or `today`."""
    if raw == "today":
        return datetime.now(UTC)
    raw = INSTANTS.get(raw, raw)
    at = datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise ValueError(f"a test instant must carry an offset: {raw!r}")
    return at


def start() -> datetime:
    return parse(os.environ.get("LINLI_TEST_NOW") or DEFAULT)


START = start()
