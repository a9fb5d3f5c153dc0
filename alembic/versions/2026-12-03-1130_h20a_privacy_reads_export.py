"""privacy: audited reads (audit_log.subject_user_id, purpose) and personal-data exports

Revision ID: h20a0e1a0001
Revises: h18a0ge0m001
Create Date: 2026-12-03 11:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "h20a0e1a0001"
down_revision: str | None = "h18a0ge0m001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = services.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_user_id", ID, nullable=True))
        batch_op.add_column(sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_log_subject_user_id_user_account"), "user_account", ["subject_user_id"], ["id"]
        )
        batch_op.create_index("ix_audit_log_subject_user_id_id", ["subject_user_id", "id"], unique=False)
        batch_op.create_index("ix_audit_log_actor_id_id", ["actor_id", "id"], unique=False)
    op.create_table(
        "privacy_export",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("ready_at", AT, nullable=True),
        sa.Column("expires_at", AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_privacy_export_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_export")),
    )
    with op.batch_alter_table("privacy_export", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_export_user_id_id", ["user_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_privacy_export_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("privacy_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_export_status"))
        batch_op.drop_index("ix_privacy_export_user_id_id")
    op.drop_table("privacy_export")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_actor_id_id")
        batch_op.drop_index("ix_audit_log_subject_user_id_id")
        batch_op.drop_constraint(batch_op.f("fk_audit_log_subject_user_id_user_account"), type_="foreignkey")
        batch_op.drop_column("purpose")
        batch_op.drop_column("subject_user_id")
