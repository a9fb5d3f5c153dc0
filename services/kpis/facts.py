"""The counting engine every metric shares.

A metric turns its rows into facts; a fact adds to a period in one of two ways:

* a **point** (`at`): it belongs to the period containing `at`; it adds `den` to the denominator
  and `num` to the numerator (or, with `needs_done`, 1 when `done_at` is before the period's end);
* a **span** (`due_from`, `due_until`): "open and past due at the period's end" — it adds 1 to the
  denominator of every period whose end e satisfies due_from < e <= due_until (None: still open).
  For the current period e is "now". With `span_num` the span adds to the numerator too (a device
  online at the period's end).
* a **sample** (`sample`, with `at`): quantile metrics (acknowledgement minutes) — the period's cell
  is (quantile × samples, samples), see `bucket(..., quantile=)`.

Excluded facts (invalid complaints, cancelled ones) are never counted, only listed.
The same functions bucket a year for the dashboard and pick one period's facts for the drill-down,
so a figure and the tickets listed behind it cannot disagree.
"""

from __future__ import annotations

import math
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
    span_num: bool = False
    sample: float | None = None


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


def bucket(facts: Iterable[Fact], frame: Frame, quantile: float | None = None) -> list[tuple[int, int]]:
    """(numerator, denominator) per period of the frame; with `quantile`, (round(the samples'
    quantile) × samples, samples) per period, which sums across communities to a weighted mean."""
    n = len(frame.periods)
    if quantile is not None:
        return _quantiles(facts, frame, quantile)
    num = [0] * n
    den = [0] * n
    spans = [0] * (n + 1)  # difference array: spans add 1 to a run of periods
    num_spans = [0] * (n + 1)
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
                if fact.span_num:
                    num_spans[r.start] += 1
                    num_spans[r.stop] -= 1
    running = running_num = 0
    for i in range(n):
        running += spans[i]
        running_num += num_spans[i]
        den[i] += running
        num[i] += running_num
    return list(zip(num, den, strict=True))


def nearest_rank(samples: list[float], q: float) -> float:
    """The smallest sample with at least q of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def period_samples(facts: Iterable[Fact], frame: Frame) -> list[list[float]]:
    out: list[list[float]] = [[] for _ in frame.periods]
    for fact in facts:
        if fact.excluded is None and fact.sample is not None and fact.at is not None:
            i = frame.point_index(fact.at)
            if i is not None:
                out[i].append(fact.sample)
    return out


def _quantiles(facts: Iterable[Fact], frame: Frame, q: float) -> list[tuple[int, int]]:
    return [
        (round(nearest_rank(s, q)) * len(s), len(s)) if s else (0, 0) for s in period_samples(facts, frame)
    ]


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
        numerator = numerator or fact.span_num
    return numerator, denominator, False
