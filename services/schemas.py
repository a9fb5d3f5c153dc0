"""Base classes for request and response bodies shared by every area, and the shared input types that
every request field and query parameter is built from."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PrivateAttr,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

T = TypeVar("T")


class RequestBody(BaseModel):
    """Unknown fields are an error, not silently dropped: a typo must not pass as success."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseBody(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class KeptBody(ResponseBody):
    """A read model kept and served many times (the KPI tables in runtime.kpi_dashboards): its JSON
    is written on first use and reused, so a kept table costs no serialisation per request. Never
    change one after it has been served."""

    _json: str | None = PrivateAttr(default=None)

    def json_once(self) -> str:
        if self._json is None:
            self._json = self.model_dump_json(by_alias=True)
        return self._json


class Page(ResponseBody, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# --- shared input types -----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Pattern:
    """Publishes what the validator beside it enforces, so clients and fuzzers see the rule."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out.setdefault("pattern", self.pattern)
        return out


def no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text (it answers an error, a 500); SQLite would keep it.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def no_control_chars(value: str) -> str:
    # Control characters (NUL included) are never meant in a one-line value such as a name.
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


# Every free-text request field and query parameter is `Text` (newlines allowed) or `Line` (one line).
Text = Annotated[str, AfterValidator(no_nul), _Pattern(r"^[^\x00]*$")]
Line = Annotated[str, AfterValidator(no_control_chars), _Pattern(r"^[^\x00-\x1f\x7f]*$")]

# Instants the service stores or compares: with an offset, and inside years every engine, the UTC
# conversion and a JavaScript client can represent (near year 1 or 9999 the conversion overflows).
MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)


def in_instant_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date out of range (1900 to 2199)") from exc
    if not MIN_INSTANT <= utc < MAX_INSTANT:
        raise ValueError("date out of range (1900 to 2199)")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(in_instant_range)]

# Local days (KPI ranges, shifts, contracts, calendars) in the same years: a day's midnight is turned
# into an instant in the community's zone, which overflows near year 1 or 9999 too.
MIN_DAY = date(1900, 1, 2)
MAX_DAY = date(2199, 12, 30)


def in_day_range(value: date) -> date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise ValueError(f"date out of range ({MIN_DAY} to {MAX_DAY})")
    return value


Day = Annotated[date, AfterValidator(in_day_range)]


_WALL_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _wall_clock(value: object) -> object:
    # Exactly what the schema publishes: no offset (it is read in the time zone given beside it), no
    # seconds-since-midnight numbers.
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.fullmatch(_WALL_CLOCK, value):
        return value
    raise ValueError("expected a time of day as HH:MM or HH:MM:SS, without an offset")


# A time of day on the wall clock of a time zone named beside it (quiet hours, business hours, shift
# times): it has no offset, so it is published as HH:MM[:SS], not as RFC 3339 `format: time`, which
# requires one.
LocalTime = Annotated[
    time,
    BeforeValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _WALL_CLOCK,
            "examples": ["22:00", "07:30:00"],
        }
    ),
]

# Ids are positive and fit a JavaScript number and a PostgreSQL bigint.
MAX_ID = 2**53 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Optimistic-lock versions (an INTEGER column).
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]

__all__ = [
    "MAX_DAY",
    "MAX_ID",
    "MIN_DAY",
    "Day",
    "Id",
    "Instant",
    "Line",
    "LocalTime",
    "Page",
    "RequestBody",
    "ResponseBody",
    "Text",
    "Version",
    "no_control_chars",
    "no_nul",
]
