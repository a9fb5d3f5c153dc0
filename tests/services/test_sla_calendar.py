"""Working-time arithmetic: 24x7, business hours, Chinese statutory holidays and make-up days."""

from __future__ import annotations

import random
import time as clock
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from services.tickets.sla import (
    DEFAULT_TARGETS,
    ResolvedPolicy,
    add_working_minutes,
    is_working_day,
    statutory_days,
    working_minutes_between,
)

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

SH = ZoneInfo("Asia/Shanghai")
BIZ = ResolvedPolicy(
    policy_id=None,
    response_minutes=60,
    resolution_minutes=72 * 60,
    calendar="business_hours",
    time_zone="Asia/Shanghai",
    business_start=time(8, 30),
    business_end=time(17, 30),
    extra_workdays=frozenset(),
    extra_holidays=frozenset(),
)
ALWAYS = replace(BIZ, calendar="24x7")


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A Beijing wall-clock time as an aware datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_defaults_match_the_issue() -> None:
    assert DEFAULT_TARGETS == {
        "urgent": (30, 240),
        "high": (120, 1440),
        "normal": (480, 2880),
        "low": (1440, 4320),
    }


def test_24x7_is_plain_addition_and_returns_utc() -> None:
    start = sh(2026, 10, 1, 23, 0)  # a holiday at night: irrelevant around the clock
    due = add_working_minutes(start, 240, ALWAYS)
    assert due == datetime(2026, 10, 1, 19, 0, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert working_minutes_between(start, due, ALWAYS) == 240
    assert working_minutes_between(due, start, ALWAYS) == 0
    assert add_working_minutes(start, -30, ALWAYS) == start - timedelta(minutes=30)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_minutes(datetime(2026, 11, 26, 10, 0), 10, BIZ)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_minutes_between(datetime(2026, 11, 26, 10, 0), sh(2026, 11, 27), BIZ)


def test_business_hours_skip_the_weekend() -> None:
    friday = sh(2026, 11, 27, 16, 30)
    due = add_working_minutes(friday, 120, BIZ)
    # 60 min on Friday until 17:30, the rest from Monday 08:30.
    assert due == sh(2026, 11, 30, 9, 30)
    assert due.tzinfo is UTC
    assert working_minutes_between(friday, due, BIZ) == 120
    # A full weekend in the middle counts nothing.
    assert working_minutes_between(sh(2026, 11, 27, 17, 30), sh(2026, 11, 30, 8, 30), BIZ) == 0
    # Ending exactly at closing time is the earliest moment, not the next morning.
    assert add_working_minutes(friday, 60, BIZ) == sh(2026, 11, 27, 17, 30)


def test_filed_out_of_hours_starts_next_working_morning() -> None:
    assert add_working_minutes(sh(2026, 11, 26, 23, 0), 30, BIZ) == sh(2026, 11, 27, 9, 0)
    assert add_working_minutes(sh(2026, 11, 27, 6, 0), 30, BIZ) == sh(2026, 11, 27, 9, 0)
    # Saturday 22:00 → Monday morning.
    assert add_working_minutes(sh(2026, 11, 28, 22, 0), 30, BIZ) == sh(2026, 11, 30, 9, 0)
    # Zero minutes is the start itself.
    assert add_working_minutes(sh(2026, 11, 28, 22, 0), 0, BIZ) == sh(2026, 11, 28, 22, 0)


def test_national_day_2026_from_the_package() -> None:
    days_off, makeup = statutory_days(2026)
    # The package's own answer, cross-checked with its public API.
    cn = holidays.China(years=2026)
    for d in (date(2026, 9, 20), date(2026, 9, 27), date(2026, 10, 10), date(2026, 10, 11)):
        assert is_working_day(d, BIZ) == cn.is_working_day(d)
    assert (date(2026, 9, 27) in makeup) == cn.is_working_day(date(2026, 9, 27))
    # Known by hand (State Council notice for 2026): Oct 1–7 off, Saturday Oct 10 and Sunday
    # Sep 20 are make-up working days, Sunday Sep 27 is an ordinary day off.
    for day in range(1, 8):
        assert not is_working_day(date(2026, 10, day), BIZ), day
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= makeup
    assert date(2026, 10, 1) in days_off
    assert is_working_day(date(2026, 10, 10), BIZ)
    assert is_working_day(date(2026, 9, 20), BIZ)
    assert not is_working_day(date(2026, 9, 27), BIZ)
    assert not is_working_day(date(2026, 10, 11), BIZ)


def test_business_hours_across_golden_week() -> None:
    start = sh(2026, 9, 30, 17, 0)
    # 30 min on Sep 30, nothing Oct 1–7, 30 min on Thursday Oct 8.
    assert add_working_minutes(start, 60, BIZ) == sh(2026, 10, 8, 9, 0)
    # 72 h of business time (8 days of 9 h): Sep 30 (0.5 h), Oct 8, 9, 10 (make-up Saturday), 12, 13,
    # 14, 15 and 8.5 h of Oct 16.
    due = add_working_minutes(start, 72 * 60, BIZ)
    assert due == sh(2026, 10, 16, 17, 0)
    assert working_minutes_between(start, due, BIZ) == 72 * 60


def test_make_up_saturday_counts_as_working() -> None:
    saturday = sh(2026, 10, 10, 9, 0)
    assert add_working_minutes(saturday, 60, BIZ) == sh(2026, 10, 10, 10, 0)
    assert working_minutes_between(sh(2026, 10, 9, 17, 0), sh(2026, 10, 12, 9, 0), BIZ) == 30 + 540 + 30


def test_community_exceptions_win() -> None:
    friday = sh(2026, 11, 27, 16, 30)
    monday_off = replace(BIZ, extra_holidays=frozenset({date(2026, 11, 30)}))
    assert not is_working_day(date(2026, 11, 30), monday_off)
    assert add_working_minutes(friday, 120, monday_off) == sh(2026, 12, 1, 9, 30)
    saturday_on = replace(BIZ, extra_workdays=frozenset({date(2026, 11, 28)}))
    assert add_working_minutes(friday, 120, saturday_on) == sh(2026, 11, 28, 9, 30)
    # An exception beats a statutory holiday too (e.g. a revised schedule).
    revised = replace(BIZ, extra_workdays=frozenset({date(2026, 10, 5)}))
    assert is_working_day(date(2026, 10, 5), revised)
    assert add_working_minutes(sh(2026, 9, 30, 17, 0), 60, revised) == sh(2026, 10, 5, 9, 0)


def test_late_december_2027_with_a_72_hour_target_does_not_crash() -> None:
    start = sh(2027, 12, 28, 10, 0)
    due = add_working_minutes(start, 72 * 60, BIZ)
    assert due.year == 2028
    assert working_minutes_between(start, due, BIZ) == 72 * 60
    # The package knows 2027/2028 by rule: New Year's Day is off.
    assert not is_working_day(date(2028, 1, 1), BIZ)
    assert not is_working_day(date(2027, 10, 1), BIZ)


def test_other_time_zones_and_dst() -> None:
    berlin = replace(BIZ, time_zone="Europe/Berlin")
    # Europe switched to summer time on Sunday 2026-03-29: Friday's window is 07:30–16:30 UTC,
    # Monday's 06:30–15:30 UTC.
    start = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)  # 17:00 Berlin
    due = add_working_minutes(start, 60, berlin)
    assert due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 Berlin
    assert working_minutes_between(start, due, berlin) == 60
    utc_policy = replace(BIZ, time_zone="UTC")
    assert add_working_minutes(datetime(2026, 11, 26, 17, 0, tzinfo=UTC), 60, utc_policy) == datetime(
        2026, 11, 27, 9, 0, tzinfo=UTC
    )


def test_negative_minutes_walk_backwards() -> None:
    monday = sh(2026, 11, 30, 9, 30)
    assert add_working_minutes(monday, -120, BIZ) == sh(2026, 11, 27, 16, 30)
    assert add_working_minutes(sh(2026, 11, 29, 12, 0), -30, BIZ) == sh(2026, 11, 27, 17, 0)


def test_round_trip_property_over_random_starts() -> None:
    rng = random.Random(20261126)
    zones = ["Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin", "America/New_York"]
    policies = [
        replace(BIZ, time_zone=z, business_start=s, business_end=e)
        for z in zones
        for s, e in ((time(8, 30), time(17, 30)), (time(0, 0), time(23, 59, 59)), (time(9, 15), time(9, 45)))
    ]
    policies += [
        replace(
            BIZ, extra_workdays=frozenset({date(2026, 10, 3)}), extra_holidays=frozenset({date(2027, 3, 3)})
        )
    ]
    lo = datetime(2025, 12, 1, tzinfo=UTC).timestamp()
    hi = datetime(2028, 12, 31, tzinfo=UTC).timestamp()
    cases: list[tuple[ResolvedPolicy, datetime, int]] = []
    for _ in range(2000):
        policy = rng.choice(policies)
        a = datetime.fromtimestamp(rng.uniform(lo, hi), tz=UTC)
        # Up to ~3 weeks of business time; a 30-minute daily window gets proportionally less.
        cap = 10000 if policy.business_end.hour - policy.business_start.hour > 1 else 600
        cases.append((policy, a, rng.choice([rng.randint(0, 4320), rng.randint(1, 60), rng.randint(0, cap)])))

    started = clock.perf_counter()
    for policy, a, minutes in cases:
        due = add_working_minutes(a, minutes, policy)
        assert due >= a
        assert working_minutes_between(a, due, policy) == minutes, (a, minutes, policy)
    elapsed = clock.perf_counter() - started
    # Not a timed assertion (machines vary; this takes ~0.3 s here), only a guard against a
    # per-minute loop sneaking in, which would take minutes.
    assert elapsed < 20, elapsed

    for policy, a, minutes in cases[:300]:
        due = add_working_minutes(a, minutes, policy)
        # Nothing earlier would do: one microsecond less is short of the target.
        if minutes:
            assert working_minutes_between(a, due - timedelta(microseconds=1), policy) < minutes
        back = add_working_minutes(a, -minutes, policy)
        assert back <= a
        assert working_minutes_between(back, a, policy) == minutes
        fractional = round(rng.uniform(0, 2000), 3)
        assert working_minutes_between(
            a, add_working_minutes(a, fractional, policy), policy
        ) == pytest.approx(fractional, abs=1e-6)
