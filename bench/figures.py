"""One measured figure of a scenario, with its reference, ratio and target; the harness's table rows.

A scenario's `run(env, repeat)` returns a list of Figures for one repeat; the harness runs every
scenario three times, interleaved, and reports the median of each figure (bench/harness.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Figure:
    scenario: str  # "S1"
    metric: str  # "create req/s @64"
    value: float
    unit: str = ""  # "req/s", "ms", "msg/s", "", …
    ref_name: str = ""  # "bare FastAPI, same body"
    ref_value: float | None = None  # the reference measured in the same run
    op: str = ""  # ">=" or "<=": how the target compares
    limit: float | None = None  # the target
    on: str = "value"  # the target applies to "value" or to "ratio" (value / ref_value)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ref_value is None or not self.ref_value:
            return None
        return self.value / self.ref_value

    @property
    def met(self) -> bool | None:
        if self.limit is None or not self.op:
            return None
        got = self.ratio if self.on == "ratio" else self.value
        if got is None or got != got:  # NaN: nothing was measured
            return False
        return got >= self.limit if self.op == ">=" else got <= self.limit

    @property
    def target(self) -> str:
        if self.limit is None or not self.op:
            return ""
        sign = "≥" if self.op == ">=" else "≤"
        if self.on == "ratio":
            return f"{sign} {self.limit:g}× ref"
        return f"{sign} {self.limit:,g} {self.unit}".rstrip()


def median_of(figures: Sequence[Figure]) -> Figure:
    """The median of one figure over the repeats: value and reference each take their median; the
    ratio is computed from those medians (so the row reads consistently)."""
    first = figures[0]
    value = statistics.median(f.value for f in figures)
    refs = [f.ref_value for f in figures if f.ref_value is not None]
    ref = statistics.median(refs) if refs else None
    notes = sorted({f.note for f in figures if f.note})
    return replace(first, value=value, ref_value=ref, note="; ".join(notes))


def combine(runs: Sequence[Sequence[Figure]]) -> list[Figure]:
    """Median per (scenario, metric), in the order the first repeat reported them."""
    groups: dict[tuple[str, str], list[Figure]] = {}
    for run in runs:
        for f in run:
            groups.setdefault((f.scenario, f.metric), []).append(f)
    return [median_of(group) for group in groups.values()]
