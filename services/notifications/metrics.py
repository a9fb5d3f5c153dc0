"""Prometheus metrics of the notification pipeline and the scheduler (worker and scheduler processes).

They are served by workers.metrics on LINLI_METRICS_PORT (bound to LINLI_METRICS_HOST, 127.0.0.1 by
default: not public); the API's own request metrics are at its /metrics."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Delivery, DeliveryStatus, utcnow

DELIVERIES = Counter(
    "linli_deliveries_total", "Delivery outcomes recorded by workers", ["channel", "outcome"]
)
QUEUE_DEPTH = Gauge("linli_delivery_queue_depth", "Deliveries waiting to be sent (pending or failed, due)")
QUEUE_AGE = Gauge(
    "linli_delivery_queue_oldest_seconds", "Age of the oldest due delivery still waiting (0 when none)"
)
SLA_NOTICES = Counter(
    "linli_sla_notices_total", "SLA warnings, breaches and escalations fired by the scheduler", ["stage"]
)
JOB_RUNS = Counter("linli_scheduler_job_runs_total", "Periodic job runs", ["job", "outcome"])


def count_outcome(channel: str, values: dict[str, object]) -> None:
    DELIVERIES.labels(channel, str(values.get("status", "unknown"))).inc()


async def observe_queue(session: AsyncSession, now: datetime | None = None) -> None:
    """Set queue depth and age from the database (the source of truth; Redis only carries wake-ups)."""
    now = now or utcnow()
    d = Delivery.__table__  # type: ignore[attr-defined]
    due = sa.and_(d.c.status.in_([DeliveryStatus.pending, DeliveryStatus.failed]), d.c.next_attempt_at <= now)
    depth, oldest = (
        await session.execute(sa.select(sa.func.count(), sa.func.min(d.c.created_at)).where(due))
    ).one()
    QUEUE_DEPTH.set(int(depth))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    QUEUE_AGE.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
