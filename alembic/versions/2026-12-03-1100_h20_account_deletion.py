"""account deletion (注销): the request, its cooling-off deadline and the erasure time on user_account

Revision ID: h20a0cc0de101
Revises: h22m0nthly01
Create Date: 2026-12-03 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import services.models.base
from alembic import op

revision: str = "h20a0cc0de101"
down_revision: str | None = "h22m0nthly01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AT = services.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deletion_requested_at", AT, nullable=True))
        batch_op.add_column(sa.Column("deletion_due_at", AT, nullable=True))
        batch_op.add_column(sa.Column("erased_at", AT, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_user_account_deletion_due_at"), ["deletion_due_at"], unique=False
        )


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), not a batch copy: rebuilding user_account on
    # SQLite drops a table every other table references, which fails once rows exist.
    op.drop_index("ix_user_account_deletion_due_at", table_name="user_account")
    op.drop_column("user_account", "erased_at")
    op.drop_column("user_account", "deletion_due_at")
    op.drop_column("user_account", "deletion_requested_at")
