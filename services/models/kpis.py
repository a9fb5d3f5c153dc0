"""KPI tables: targets per community or company, roll-up snapshots of closed periods, sent alerts,
and the roll-up watermark per community."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, UTCDateTime, at_field, created_at_field, id_field


class KpiTarget(SQLModel, table=True):
    __tablename__ = "kpi_target"
    __table_args__ = (sa.UniqueConstraint("scope", "scope_id", "metric"),)
    id: int | None = id_field()
    scope: str = Field(max_length=10)  # community | company
    scope_id: int = Field(sa_type=BigIntId)
    metric: str = Field(max_length=40)
    # Percent, two decimals (98.00 means 98 %).
    target: Decimal = Field(sa_type=sa.Numeric(5, 2))
    updated_by: int | None = Field(default=None, sa_type=BigIntId)
    updated_at: datetime = created_at_field()


class KpiSnapshot(SQLModel, table=True):
    """One metric of one community for one closed period (local calendar of the community)."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (sa.UniqueConstraint("scope", "scope_id", "metric", "granularity", "period_start"),)
    id: int | None = id_field()
    scope: str = Field(max_length=10)
    scope_id: int = Field(sa_type=BigIntId)
    metric: str = Field(max_length=40)
    granularity: str = Field(max_length=10)
    period_start: date
    numerator: int
    denominator: int
    value: float | None = None
    computed_at: datetime = created_at_field()


class KpiAlert(SQLModel, table=True):
    """A below-target notification that went out: at most one per scope, metric and period."""

    __tablename__ = "kpi_alert"
    __table_args__ = (sa.UniqueConstraint("scope", "scope_id", "metric", "granularity", "period_start"),)
    id: int | None = id_field()
    scope: str = Field(max_length=10)
    scope_id: int = Field(sa_type=BigIntId)
    metric: str = Field(max_length=40)
    granularity: str = Field(max_length=10)
    period_start: date
    value: float | None = None
    target: Decimal = Field(sa_type=sa.Numeric(5, 2))
    created_at: datetime = created_at_field()


class KpiRollupState(SQLModel, table=True):
    """Where the roll-up of one community stopped: rows newer than these marks make periods dirty."""

    __tablename__ = "kpi_rollup_state"
    community_id: int = Field(sa_type=BigIntId, primary_key=True, foreign_key="community.id")
    last_rollup_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_event_id: int = Field(default=0, sa_type=BigIntId)
    # First instant with data; snapshots exist for every closed period from its year on.
    covered_from: datetime | None = at_field()


class MonthlyReport(SQLModel, table=True):
    """The monthly service report (物业服务月报) of a community: the committee's approval and the
    notice it was posted as. The PDF itself is rendered from the figures on demand (and attached to
    the notice when published); this row only records who signed and where it went."""

    __tablename__ = "monthly_report"
    __table_args__ = (sa.UniqueConstraint("community_id", "month"),)
    id: int | None = id_field()
    community_id: int = Field(sa_type=BigIntId, foreign_key="community.id")
    month: date  # the first local day of the month
    approved_by: int | None = Field(default=None, sa_type=BigIntId)
    approved_at: datetime | None = at_field()
    notice_id: int | None = Field(default=None, sa_type=BigIntId)
    published_by: int | None = Field(default=None, sa_type=BigIntId)
    published_at: datetime | None = at_field()
    created_at: datetime = created_at_field()
