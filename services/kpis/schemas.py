"""Request and response bodies of the KPI endpoints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from services.schemas import KeptBody, Line, RequestBody, ResponseBody


class KpiPeriod(ResponseBody):
    period: str  # label: 2026-10, 2026-W40, 2026-Q4, 2026, 2026-10-01
    starts_on: date  # first local day
    ends_on: date  # last local day (inclusive)
    numerator: int
    denominator: int
    # percent, 2 decimals (minutes for a minutes metric: numerator = seconds × alarms); None without data
    value: float | None
    met: bool | None  # value >= target, decided on the exact fraction; None without data
    source: Literal["live", "snapshot", "mixed"]
    computed_at: datetime | None = None
    # The current, unfinished period: figures so far (`as_of` is its last day counted), never compared
    # with the target (`met` is None) nor alerted on.
    partial: bool = False
    as_of: date | None = None
    # Fewer cases than the configured minimum (LINLI_KPI_MIN_CASES): read the rate with its count.
    few_cases: bool = False
    label: str = ""  # "2026-12（截至 12月2日）", "2026-03（2 件）"


class MetricDefinition(ResponseBody):
    """The metric's formula in words (services.kpis.catalogue), in the request's language."""

    numerator: str
    denominator: str
    excludes: str
    counted_by: str
    formula: str
    target_set_by: str


class KpiSeries(ResponseBody):
    metric: str
    title: str
    target: float
    target_source: Literal["default", "community", "company"]
    definition: MetricDefinition
    min_cases: int
    available: bool  # False: the area behind it is not in this build (slot kept)
    unit: Literal["percent", "minutes"] = "percent"  # what value and target are in
    better: Literal["higher", "lower"] = "higher"  # lower: the target is a maximum (false alarms, minutes)
    periods: list[KpiPeriod]


class KpiTable(KeptBody):
    scope: Literal["community", "company"]
    scope_id: int
    granularity: str
    from_: date = Field(serialization_alias="from")
    to: date
    # Community: its zone. Company: each community's own zone (periods are local to each).
    time_zones: dict[int, str]
    community_ids: list[int]
    metrics: list[KpiSeries]


class TargetOut(ResponseBody):
    metric: str
    target: float
    source: Literal["default", "community", "company"]
    updated_at: datetime | None = None


class TargetsIn(RequestBody):
    # metric -> percent (0..100); a null value resets the metric to its default.
    targets: dict[Line, Decimal | None] = Field(min_length=1)


class DrillRow(ResponseBody):
    ref: str  # ticket | inspection_item | notice | duty_shift | alarm | alarm_device
    id: int
    community_id: int
    numerator: bool
    denominator: bool
    excluded: str | None = None
    detail: dict[str, Any]


class DrillPage(ResponseBody):
    metric: str
    period: str
    part: str
    items: list[DrillRow]
    next_cursor: str | None = None


class CommunityFigure(ResponseBody):
    community_id: int
    name: str
    numerator: int
    denominator: int
    value: float | None
    met: bool | None
    partial: bool
    label: str
    tickets: str  # the community's drill-down: the tickets (items, …) behind this figure


class CompanyDrill(ResponseBody):
    """A company figure split by community, worst first: the step from the company dashboard down to
    a community and then to its tickets."""

    metric: str
    title: str
    period: str
    target: float
    definition: MetricDefinition
    items: list[CommunityFigure]
