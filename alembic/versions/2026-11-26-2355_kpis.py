"""kpis: targets, roll-up snapshots, below-target alerts and the roll-up watermark

Revision ID: b6d3e4f5a601
Revises: d1c4e7ab0001
Create Date: 2026-11-26 23:55:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "b6d3e4f5a601"
down_revision: str | None = "d1c4e7ab0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_alert",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("scope_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("granularity", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("target", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_alert")),
        sa.UniqueConstraint(
            "scope",
            "scope_id",
            "metric",
            "granularity",
            "period_start",
            name=op.f("uq_kpi_alert_scope_scope_id_metric_granularity_period_start"),
        ),
    )
    op.create_table(
        "kpi_rollup_state",
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_rollup_at", services.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("covered_from", services.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_kpi_rollup_state_community_id_community")
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_kpi_rollup_state")),
    )
    op.create_table(
        "kpi_snapshot",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("scope_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("granularity", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=False),
        sa.Column("denominator", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("computed_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshot")),
        sa.UniqueConstraint(
            "scope",
            "scope_id",
            "metric",
            "granularity",
            "period_start",
            name=op.f("uq_kpi_snapshot_scope_scope_id_metric_granularity_period_start"),
        ),
    )
    op.create_table(
        "kpi_target",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("scope_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("updated_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("updated_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_target")),
        sa.UniqueConstraint("scope", "scope_id", "metric", name=op.f("uq_kpi_target_scope_scope_id_metric")),
    )


def downgrade() -> None:
    op.drop_table("kpi_target")
    op.drop_table("kpi_snapshot")
    op.drop_table("kpi_rollup_state")
    op.drop_table("kpi_alert")
