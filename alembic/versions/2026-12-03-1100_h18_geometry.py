"""one map: GeoJSON geometry (WGS-84) on communities and buildings

Revision ID: h18a0ge0m001
Revises: h20b0c0n5e01
Create Date: 2026-12-03 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "h18a0ge0m001"
down_revision: str | None = "h20b0c0n5e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("boundary", sa.JSON(), nullable=True))
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), not a batch copy: rebuilding community on
    # SQLite drops a table other tables reference, which fails once rows exist.
    op.drop_column("building", "location")
    op.drop_column("community", "boundary")
    op.drop_column("community", "location")
