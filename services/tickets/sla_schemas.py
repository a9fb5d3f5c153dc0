"""Request and response bodies for SLA policies and calendar exceptions."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import Field

from services.models.tickets import TicketKind
from services.schemas import Day, LocalTime, RequestBody, ResponseBody, Text
from services.tickets.schemas import TicketCategory, TicketPriority


class SlaPolicyIn(RequestBody):
    # The category against the kind, the calendar and the minute bounds are checked by the service,
    # which answers with stable error codes (sla.unknown_category, sla.invalid_minutes, ...).
    kind: TicketKind
    category: TicketCategory | Literal[""] = Field(default="", description='"" applies to every category')
    priority: TicketPriority
    response_minutes: int
    resolution_minutes: int
    calendar: Text = Field(default="24x7", max_length=20, description='"24x7" or "business_hours"')
    business_start: LocalTime = time(8, 30)
    business_end: LocalTime = time(17, 30)


class SlaPoliciesIn(RequestBody):
    """The community's complete set of overrides; anything absent falls back to the defaults."""

    policies: list[SlaPolicyIn] = Field(default_factory=list, max_length=400)


class DefaultTarget(ResponseBody):
    priority: TicketPriority
    response_minutes: int
    resolution_minutes: int
    calendar: Literal["24x7"] = "24x7"


class SlaPolicyOut(ResponseBody):
    id: int | None  # None for a built-in default
    source: Literal["default", "community"]
    kind: TicketKind
    category: TicketCategory | Literal[""]
    priority: TicketPriority
    response_minutes: int
    resolution_minutes: int
    calendar: str
    business_start: LocalTime
    business_end: LocalTime
    updated_at: datetime | None


class SlaTableOut(ResponseBody):
    community_id: int
    time_zone: str
    defaults: list[DefaultTarget]
    # The effective table: per kind × priority the catch-all row (a community override or the
    # default), then every category-specific override.
    policies: list[SlaPolicyOut]


class CalendarExceptionIn(RequestBody):
    day: Day
    working: bool = Field(description="true = an extra working day, false = an extra day off")
    note: Text = Field(default="", max_length=100)


class CalendarExceptionsIn(RequestBody):
    """With `year`, replaces only that year's exceptions (e.g. the State Council's next-year
    schedule); without it, replaces them all."""

    year: int | None = Field(default=None, ge=1950, le=2100)
    items: list[CalendarExceptionIn] = Field(default_factory=list, max_length=400)


class CalendarExceptionOut(ResponseBody):
    day: date
    working: bool
    note: str


class StatutoryDayOut(ResponseBody):
    day: date
    working: bool  # false = statutory day off, true = make-up working day (调休)
    name: str


class CalendarOut(ResponseBody):
    community_id: int
    time_zone: str
    year: int
    # The community's exceptions (of `year` when one was asked for, else all of them).
    exceptions: list[CalendarExceptionOut]
    # What the `holidays` package knows for `year`, to compare with the official notice.
    statutory: list[StatutoryDayOut]
