"""Calendar periods in a community's time zone: day, ISO week (Monday first), month, quarter, year.

A period is a half-open local interval [start, end) of dates; its instants are local midnight
converted to UTC through zoneinfo, so a Beijing month starts at 16:00 UTC on the previous day.
Labels: day 2026-10-01, week 2026-W40, month 2026-10, quarter 2026-Q4, year 2026.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from services.errors import InvalidInput
from services.schemas import MAX_DAY, MIN_DAY

Granularity = Literal["day", "week", "month", "quarter", "year"]
GRANULARITIES: tuple[str, ...] = get_args(Granularity)
MAX_RANGE_YEARS = 5


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first local day
    end: date  # first local day of the next period
    granularity: str

    @property
    def label(self) -> str:
        g, d = self.granularity, self.start
        if g == "day":
            return d.isoformat()
        if g == "week":
            y, w, _ = d.isocalendar()
            return f"{y}-W{w:02d}"
        if g == "month":
            return f"{d.year}-{d.month:02d}"
        if g == "quarter":
            return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
        return str(d.year)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return instant(self.start, tz), instant(self.end, tz)


def instant(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight of `day` as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _add_months(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def months_before(first: date, n: int) -> date:
    """The first day of the month `n` months before the month of `first`."""
    return _add_months(first.replace(day=1), -n)


def floor(day: date, granularity: str) -> Period:
    if granularity == "day":
        return Period(day, day + timedelta(days=1), granularity)
    if granularity == "week":
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=7), granularity)
    if granularity == "month":
        start = day.replace(day=1)
        return Period(start, _add_months(start, 1), granularity)
    if granularity == "quarter":
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period(start, _add_months(start, 3), granularity)
    if granularity == "year":
        return Period(date(day.year, 1, 1), date(day.year + 1, 1, 1), granularity)
    raise InvalidInput("kpi.unknown_granularity", details={"granularity": granularity})


def periods_between(first: date, last: date, granularity: str) -> list[Period]:
    """Every period that contains a day of [first, last] (both inclusive), in order."""
    out: list[Period] = []
    p = floor(first, granularity)
    while p.start <= last:
        out.append(p)
        p = floor(p.end, granularity)
    return out


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def validate_range(first: date, last: date) -> None:
    if last < first:
        raise InvalidInput("kpi.range_reversed", details={"from": first.isoformat(), "to": last.isoformat()})
    try:
        limit = first.replace(year=first.year + MAX_RANGE_YEARS)
    except ValueError:  # 29 February
        limit = first.replace(year=first.year + MAX_RANGE_YEARS, day=28)
    if last > limit:
        raise InvalidInput("kpi.range_too_long", details={"max_years": MAX_RANGE_YEARS})


_LABELS = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
    (re.compile(r"^(\d{4})-W(\d{2})$"), "week"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})$"), "year"),
)


def parse_label(label: str) -> Period:
    """The period a label names (its granularity is implied by its shape); 422 otherwise."""
    for pattern, granularity in _LABELS:
        m = pattern.match(label.strip())
        if m is None:
            continue
        parts = [int(x) for x in m.groups()]
        if not MIN_DAY.year < parts[0] < MAX_DAY.year:  # its local midnights must convert to UTC
            break
        try:
            if granularity == "day":
                return floor(date(parts[0], parts[1], parts[2]), "day")
            if granularity == "week":
                return floor(date.fromisocalendar(parts[0], parts[1], 1), "week")
            if granularity == "month":
                return floor(date(parts[0], parts[1], 1), "month")
            if granularity == "quarter":
                return floor(date(parts[0], parts[1] * 3 - 2, 1), "quarter")
            return floor(date(parts[0], 1, 1), "year")
        except ValueError:
            break
    raise InvalidInput("kpi.invalid_period", details={"period": label})
