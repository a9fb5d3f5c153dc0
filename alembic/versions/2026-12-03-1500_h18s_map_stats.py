"""one map: community_map_stats, the counters the map layer reads (no per-request ticket counts)

No backfill here: the worker's refresh_map_stats job fills every community that has no row on its
first pass (seconds after start in the embedded default), and until then the layer counts those
communities itself, so the answer is never a made-up zero.

Revision ID: h18s0ms0001
Revises: h20a0e1a0001
Create Date: 2026-12-03 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import services.models.base
from alembic import op

revision: str = "h18s0ms0001"
down_revision: str | None = "h16u0du0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = services.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "community_map_stats",
        sa.Column("community_id", ID, nullable=False),
        sa.Column("open_tickets", sa.Integer(), nullable=False),
        sa.Column("overdue_tickets", sa.Integer(), nullable=False),
        sa.Column("active_alarms", sa.Integer(), nullable=False),
        sa.Column("cameras_online", sa.Integer(), nullable=False),
        sa.Column("cameras_total", sa.Integer(), nullable=False),
        sa.Column("next_change_at", AT, nullable=True),
        sa.Column("refreshed_at", AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_community_map_stats_community_id_community")
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_community_map_stats")),
    )


def downgrade() -> None:
    op.drop_table("community_map_stats")
