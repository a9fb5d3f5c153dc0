"""privacy and calls: signed comments and free-text answers, complaints about a staff member, call-relay
bindings for tickets

Revision ID: h6a1c2d3e4f5
Revises: h1a5b0d1e601
Create Date: 2026-12-02 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "h6a1c2d3e4f5"
down_revision: str | None = "h1a5b0d1e601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "call_binding",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("caller_id", ID, nullable=False),
        sa.Column("callee_id", ID, nullable=True),  # None: an occupant without an account
        sa.Column("relay_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("provider_ref", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("expires_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_call_binding_community_id_community")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_call_binding_ticket_id_ticket")),
        sa.ForeignKeyConstraint(
            ["caller_id"], ["user_account.id"], name=op.f("fk_call_binding_caller_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["callee_id"], ["user_account.id"], name=op.f("fk_call_binding_callee_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_binding")),
    )
    with op.batch_alter_table("call_binding", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_binding_ticket_caller", ["ticket_id", "caller_id", "expires_at"], unique=False
        )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_staff_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_about_staff_id_user_account"), "user_account", ["about_staff_id"], ["id"]
        )
    with op.batch_alter_table("notice_comment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("ballot_answer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("ballot_answer", schema=None) as batch_op:
        batch_op.drop_column("signed")
    with op.batch_alter_table("notice_comment", schema=None) as batch_op:
        batch_op.drop_column("signed")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ticket_about_staff_id_user_account"), type_="foreignkey")
        batch_op.drop_column("about_staff_id")
    with op.batch_alter_table("call_binding", schema=None) as batch_op:
        batch_op.drop_index("ix_call_binding_ticket_caller")
    op.drop_table("call_binding")
