"""Prometheus counters of the device doors (served with the others on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

INGEST = Counter(
    "linli_alarm_ingest_total",
    "Device events received, by door and outcome (created, repeated, cleared, stored, replayed)",
    ["door", "outcome"],
)
REJECTED = Counter(
    "linli_alarm_ingest_rejected_total",
    "Device events refused, by door and error code (unknown device, bad signature, stale, malformed...)",
    ["door", "code"],
)
