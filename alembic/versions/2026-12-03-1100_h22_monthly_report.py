"""monthly service report: the committee's approval and the notice it was posted as

Revision ID: h22m0nthly01
Revises: h15t0a1a0001
Create Date: 2026-12-03 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import services.models.base
from alembic import op

revision: str = "h22m0nthly01"
down_revision: str | None = "h15t0a1a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monthly_report",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("approved_by", ID, nullable=True),
        sa.Column("approved_at", services.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_id", ID, nullable=True),
        sa.Column("published_by", ID, nullable=True),
        sa.Column("published_at", services.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_monthly_report_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_report")),
        sa.UniqueConstraint("community_id", "month", name=op.f("uq_monthly_report_community_id_month")),
    )


def downgrade() -> None:
    op.drop_table("monthly_report")
