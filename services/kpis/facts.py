"""The counting engine every metric shares.

A metric turns its rows into facts; a fact adds to a period in one of two ways:

* a **point** (`at`): it belongs to the period containing `at`; it adds `den` to the denominator
  and `num` to the numerator (or, with `needs_done`, 1 when `done_at` is before the period's end);
* a **span** (`due_from`, `due_until`): "open and past due at the period's end" — it adds 1 to the
  denominator of every period whose end e satisfies due_from < e <= due_until (None: still open).
  For the current period e is "now".

Excluded facts (invalid complaints, cancelled ones) are never counted, only listed.
The same functions bucket a year for the dashboard and pick one period's facts for the drill-down,
so a figure and the tickets listed behind it cannot disagree.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.kpis.periods import Period


@dataclass(slots=True)
class Fact:
    community_id: int
    ref_id: int
    at: datetime | None = None
    den: int = 1
    num: int = 0
    needs_done: bool = False
    done_at: datetime | None = None
    due_from: datetime | None = None
    due_until: datetime | None = None
    excluded: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Frame:
    """Contiguous periods of one granularity in one zone, with their UTC bounds clamped to now."""

    periods: Sequence[Period]
    starts: list[datetime]
    ends: list[datetime]  # true ends
    ends_eff: list[datetime]  # min(end, now): the moment "at the period's end" is judged

    @classmethod
    def build(cls, periods: Sequence[Period], tz: ZoneInfo, now: datetime) -> Frame:
        bounds = [p.bounds(tz) for p in periods]
        return cls(
            periods,
            [b[0] for b in bounds],
            [b[1] for b in bounds],
            [min(b[1], now) for b in bounds],
        )

    def point_index(self, at: datetime) -> int | None:
        i = bisect_right(self.starts, at) - 1
        if i < 0 or at >= self.ends[i]:
            return None
        return i

    def span_range(self, due_from: datetime, due_until: datetime | None) -> range:
        lo = bisect_right(self.ends_eff, due_from)
        hi = len(self.ends_eff) if due_until is None else bisect_right(self.ends_eff, due_until)
        return range(lo, hi)


def point_counts(fact: Fact, frame: Frame, i: int) -> tuple[int, int]:
    """(numerator, denominator) a point fact adds to period i."""
    if fact.needs_done:
        done = fact.done_at is not None and fact.done_at < frame.ends_eff[i]
        return (1 if done else 0), 1
    return fact.num, fact.den


def bucket(facts: Iterable[Fact], frame: Frame) -> list[tuple[int, int]]:
    """(numerator, denominator) per period of the frame."""
    n = len(frame.periods)
    num = [0] * n
    den = [0] * n
    spans = [0] * (n + 1)  # difference array: spans add 1 to a run of periods
    for fact in facts:
        if fact.excluded is not None:
            continue
        if fact.at is not None:
            i = frame.point_index(fact.at)
            if i is not None:
                a, b = point_counts(fact, frame, i)
                num[i] += a
                den[i] += b
        if fact.due_from is not None:
            r = frame.span_range(fact.due_from, fact.due_until)
            if r.start < r.stop:
                spans[r.start] += 1
                spans[r.stop] -= 1
    running = 0
    for i in range(n):
        running += spans[i]
        den[i] += running
    return list(zip(num, den, strict=True))


def roles_in_period(fact: Fact, frame: Frame, i: int) -> tuple[bool, bool, bool]:
    """(in numerator, in denominator, excluded-and-listed) of one fact for period i."""
    in_point = fact.at is not None and frame.point_index(fact.at) == i
    if fact.excluded is not None:
        return False, False, in_point
    numerator = False
    denominator = False
    if in_point:
        a, b = point_counts(fact, frame, i)
        numerator, denominator = a > 0, b > 0
    if fact.due_from is not None and i in frame.span_range(fact.due_from, fact.due_until):
        denominator = True
    return numerator, denominator, False
