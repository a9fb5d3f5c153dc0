"""attachments: a medium size (attachment.medium_key) and presigned direct uploads (direct_upload)

Revision ID: h16u0du0001
Revises: h20a0e1a0001
Create Date: 2026-12-03 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "h16u0du0001"
down_revision: str | None = "h17a0fk0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = services.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Existing images keep medium_key NULL: "medium" is served from the original for them.
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("medium_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    op.create_table(
        "direct_upload",
        sa.Column("id", ID, nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("owner_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("owner_id", ID, nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("incoming_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("issued_to", ID, nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("expires_at", AT, nullable=False),
        sa.Column("completed_at", AT, nullable=True),
        sa.Column("attachment_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_direct_upload_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["issued_to"], ["user_account.id"], name=op.f("fk_direct_upload_issued_to_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_upload")),
        sa.UniqueConstraint("token", name=op.f("uq_direct_upload_token")),
    )
    # Every foreign key a delete must check has its index (tests/services/test_foreign_key_indexes.py).
    op.create_index(op.f("ix_direct_upload_community_id"), "direct_upload", ["community_id"])
    op.create_index(op.f("ix_direct_upload_issued_to"), "direct_upload", ["issued_to"])


def downgrade() -> None:
    op.drop_table("direct_upload")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_column("medium_key")
