"""SLA targets and working-time arithmetic.

A policy counts either around the clock ("24x7") or only inside business hours on working days
("business_hours") in the community's time zone. Working days follow the Chinese statutory calendar
from the `holidays` package (holidays and make-up working days, 调休), then the community's own
exceptions (for a schedule the package does not know yet) win.

All arithmetic walks at most one day per step: a 72 h target across Golden Week costs microseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from holidays.constants import PUBLIC
from holidays.countries.china import China
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.models.sla
import services.tickets.sla_messages  # noqa: F401
from services.driver_sql import DriverStatement
from services.errors import InvalidInput, NotFound
from services.models.places import Community
from services.models.sla import CalendarException, SlaPolicy

log = logging.getLogger("linli.sla")

Calendar = Literal["24x7", "business_hours"]
KINDS: tuple[str, ...] = ("repair", "complaint")
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
CALENDARS: tuple[str, ...] = ("24x7", "business_hours")
DEFAULT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_BUSINESS_START = time(8, 30)
DEFAULT_BUSINESS_END = time(17, 30)

# priority -> (response_minutes, resolution_minutes), around the clock.
DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    "urgent": (30, 4 * 60),
    "high": (2 * 60, 24 * 60),
    "normal": (8 * 60, 48 * 60),
    "low": (24 * 60, 72 * 60),
}

# A search for the next working window gives up after this many days without one (only a
# misconfigured calendar, e.g. a year of extra days off, gets there).
_MAX_IDLE_DAYS = 800


@dataclass(frozen=True)
class ResolvedPolicy:
    policy_id: int | None  # None = built-in default
    response_minutes: int
    resolution_minutes: int
    calendar: Literal["24x7", "business_hours"]
    time_zone: str  # the community's zone, e.g. "Asia/Shanghai"
    business_start: time
    business_end: time
    # The community's exceptions; loaded for business-hours calendars only (24x7 never reads them).
    extra_workdays: frozenset[date]
    extra_holidays: frozenset[date]


# --- the statutory calendar ------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _statutory_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(statutory days off, make-up working days) falling in `year`, from the `holidays` package (China).

    Building a holidays object is slow (the first one ~0.25 s), so each year is built once per
    process. Neighbouring years are included because a make-up day can be announced with the next
    year's schedule (e.g. a Saturday in late December that makes up for New Year's Day).
    """
    try:
        cn = China(years=(year - 1, year, year + 1), categories=(PUBLIC,))  # type: ignore[no-untyped-call]
        days_off = frozenset(d for d in cn if d.year == year)
        makeup = frozenset(d for d in cn.weekend_workdays if d.year == year)
    except Exception:  # the package covers 1950..2100; outside it only weekends are off
        log.warning("holidays.China failed for %s; weekends only", year, exc_info=True)
        return frozenset(), frozenset()
    return days_off, makeup


def statutory_days(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(statutory days off, make-up working days) in `year`, as the `holidays` package knows them."""
    return _statutory_year(year)


def statutory_holiday_names(year: int) -> dict[date, str]:
    """Names of the statutory days off in `year` (Chinese), for showing the calendar to an admin."""
    cn = China(years=year, categories=(PUBLIC,), language="zh_CN")  # type: ignore[no-untyped-call]
    return {d: str(name) for d, name in sorted(cn.items()) if d.year == year}


def warm_calendar(years: Iterable[int] | None = None) -> None:
    """Build the cached calendars up front (call from start-up, off the event loop) so the first
    ticket does not pay ~0.25 s for the package's first build."""
    if years is None:
        this = datetime.now(UTC).year
        years = (this - 1, this, this + 1)
    for year in years:
        _statutory_year(year)


def is_working_day(day: date, policy: ResolvedPolicy) -> bool:
    """Statutory holidays off, weekends off unless a make-up working day (调休); the community's
    exceptions win over both."""
    if day in policy.extra_workdays:
        return True
    if day in policy.extra_holidays:
        return False
    days_off, makeup = _statutory_year(day.year)
    if day in days_off:
        return False
    if day.weekday() >= 5:
        return day in makeup
    return True


# --- arithmetic ------------------------------------------------------------------------------------


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _zone(policy: ResolvedPolicy) -> ZoneInfo:
    return ZoneInfo(policy.time_zone)


def _window(day: date, policy: ResolvedPolicy, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The day's business window as UTC instants, or None on a day off (or an empty window)."""
    if not is_working_day(day, policy):
        return None
    start = datetime.combine(day, policy.business_start, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, policy.business_end, tzinfo=tz).astimezone(UTC)
    return (start, end) if end > start else None


def add_working_minutes(start: datetime, minutes: float, policy: ResolvedPolicy) -> datetime:
    """The earliest instant at which `minutes` of working time have passed since `start`.

    Aware in, aware UTC out. "24x7" is plain addition; "business_hours" only counts time inside
    [business_start, business_end) on working days in the community's zone, so a start outside
    business hours begins counting at the next working morning. Zero returns `start`; negative
    minutes walk backwards (the latest instant that many working minutes before `start`), which
    keeps "due = add_working_minutes(now, remaining)" right for an already overdue ticket.
    """
    cur = _utc(start, "start")
    remaining = timedelta(minutes=minutes)
    if policy.calendar == "24x7" or not remaining:
        return cur + remaining
    tz = _zone(policy)
    day = cur.astimezone(tz).date()
    idle = 0
    if remaining > timedelta(0):
        while True:
            win = _window(day, policy, tz)
            if win is not None and win[1] > cur:
                begin = max(cur, win[0])
                available = win[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                idle = 0
            else:
                idle += 1
                if idle > _MAX_IDLE_DAYS:
                    raise ValueError("no working day within the search horizon")
            day += timedelta(days=1)
    remaining = -remaining
    while True:
        win = _window(day, policy, tz)
        if win is not None and win[0] < cur:
            end = min(cur, win[1])
            available = end - win[0]
            if remaining <= available:
                return end - remaining
            remaining -= available
            idle = 0
        else:
            idle += 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError("no working day within the search horizon")
        day -= timedelta(days=1)


def working_minutes_between(a: datetime, b: datetime, policy: ResolvedPolicy) -> float:
    """Working minutes elapsed from `a` to `b` under the policy (0 if b <= a)."""
    start, end = _utc(a, "a"), _utc(b, "b")
    if end <= start:
        return 0.0
    if policy.calendar == "24x7":
        return (end - start) / timedelta(minutes=1)
    tz = _zone(policy)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    total = timedelta(0)
    while day <= last:
        win = _window(day, policy, tz)
        if win is not None:
            lo, hi = max(start, win[0]), min(end, win[1])
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total / timedelta(minutes=1)


# --- policy lookup ---------------------------------------------------------------------------------


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def load_exceptions(
    session: AsyncSession, community_id: int
) -> tuple[frozenset[date], frozenset[date]]:
    """(extra working days, extra days off) of a community."""
    rows = (
        await session.exec(
            select(col(CalendarException.day), col(CalendarException.working)).where(
                CalendarException.community_id == community_id
            )
        )
    ).all()
    return (
        frozenset(day for day, working in rows if working),
        frozenset(day for day, working in rows if not working),
    )


_SP = SlaPolicy.__table__.c  # type: ignore[attr-defined]


class _PolicyRow(NamedTuple):
    """The community's zone and an override (all NULL when it has none: an outer join)."""

    time_zone: str
    id: Any
    category: Any
    calendar: Any
    response_minutes: Any
    resolution_minutes: Any
    business_start: Any
    business_end: Any


# Read on every filing: on asyncpg, past SQLAlchemy's per-execution work (services.driver_sql).
_POLICIES = DriverStatement(
    lambda _dialect: (
        sa.select(
            col(Community.time_zone),
            _SP.id,
            _SP.category,
            _SP.calendar,
            _SP.response_minutes,
            _SP.resolution_minutes,
            _SP.business_start,
            _SP.business_end,
        )
        .select_from(Community)
        .outerjoin(
            SlaPolicy.__table__,  # type: ignore[attr-defined]
            sa.and_(
                _SP.community_id == Community.id,
                _SP.kind == sa.bindparam("kind"),
                _SP.priority == sa.bindparam("priority"),
                _SP.category.in_([sa.bindparam("category"), ""]),
            ),
        )
        .where(col(Community.id) == sa.bindparam("community_id"))
    )
)


async def resolve_policy(
    session: AsyncSession, community_id: int, kind: str, category: str, priority: str
) -> ResolvedPolicy:
    """The policy for a ticket: an override for its exact category, else the community's override
    for every category (""), else DEFAULT_TARGETS around the clock."""
    if kind not in KINDS:
        raise InvalidInput("sla.unknown_kind", details={"kind": kind})
    if priority not in DEFAULT_TARGETS:
        raise InvalidInput("sla.unknown_priority", details={"priority": priority})
    # The community's zone and its matching overrides in one round trip (no override: one row of
    # NULLs), as plain rows from a statement built once.
    params = {"community_id": community_id, "kind": kind, "priority": priority, "category": category}
    found = [_PolicyRow(*r) for r in await _POLICIES.rows(session, params)]
    if not found:
        raise NotFound("community.not_found")
    zone = found[0].time_zone
    if not valid_time_zone(zone):
        log.warning(
            "community %s has an unknown time zone %r; using %s", community_id, zone, DEFAULT_TIME_ZONE
        )
        zone = DEFAULT_TIME_ZONE
    rows = [r for r in found if r.id is not None]
    row = next((r for r in rows if r.category == category), None) or next(
        (r for r in rows if r.category == ""), None
    )
    calendar: Literal["24x7", "business_hours"] = (
        "business_hours" if row is not None and row.calendar == "business_hours" else "24x7"
    )
    # Around the clock the community's exceptions change nothing: only business hours read them.
    workdays, days_off = (
        await load_exceptions(session, community_id)
        if calendar == "business_hours"
        else (frozenset(), frozenset())
    )
    if row is None:
        response, resolution = DEFAULT_TARGETS[priority]
        return ResolvedPolicy(
            policy_id=None,
            response_minutes=response,
            resolution_minutes=resolution,
            calendar="24x7",
            time_zone=zone,
            business_start=DEFAULT_BUSINESS_START,
            business_end=DEFAULT_BUSINESS_END,
            extra_workdays=workdays,
            extra_holidays=days_off,
        )
    return ResolvedPolicy(
        policy_id=row.id,
        response_minutes=row.response_minutes,
        resolution_minutes=row.resolution_minutes,
        calendar=calendar,
        time_zone=zone,
        business_start=row.business_start,
        business_end=row.business_end,
        extra_workdays=workdays,
        extra_holidays=days_off,
    )
