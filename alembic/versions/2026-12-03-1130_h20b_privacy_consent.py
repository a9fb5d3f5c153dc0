"""privacy consent: the policy version a user accepted and their opt-in choices (issue 20)

Revision ID: h20b0c0n5e01
Revises: h20a0cc0de101
Create Date: 2026-12-03 11:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "h20b0c0n5e01"
down_revision: str | None = "h20a0cc0de101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_consent",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("policy_version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("accepted_at", services.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("show_name_on_comments", sa.Boolean(), nullable=False),
        sa.Column("sms_non_critical", sa.Boolean(), nullable=False),
        sa.Column("updated_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_privacy_consent_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_consent")),
        sa.UniqueConstraint("user_id", name=op.f("uq_privacy_consent_user_id")),
    )


def downgrade() -> None:
    op.drop_table("privacy_consent")
