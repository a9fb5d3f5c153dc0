"""renovation projects (老旧小区改造): project, items, three roles, requests, supervision, sign-offs,
milestones, fund sources, the hash-chained payment ledger, approval steps, self-assessments

Revision ID: h19a7r3n0v01
Revises: h5a0cc0a5021
Create Date: 2026-12-03 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "h19a7r3n0v01"
down_revision: str | None = "a1a1a0000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "renovation_project",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("batch", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("needs_poll_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("design_poll_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("design_notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("design_notice2_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("vote_poll_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("vote_required", sa.Boolean(), nullable=False),
        sa.Column(
            "satisfaction_poll_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("aftercare_starts_on", sa.Date(), nullable=True),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_renovation_project_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_renovation_project_created_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_project")),
    )
    with op.batch_alter_table("renovation_project", schema=None) as batch_op:
        batch_op.create_index("ix_renovation_project_community_id_id", ["community_id", "id"], unique=False)

    op.create_table(
        "renovation_approval_step",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_approval_step_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_approval_step")),
    )
    with op.batch_alter_table("renovation_approval_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renovation_approval_step_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "renovation_fund_source",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("committed_fen", sa.BigInteger(), nullable=False),
        sa.Column("received_fen", sa.BigInteger(), nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_fund_source_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_fund_source")),
    )
    with op.batch_alter_table("renovation_fund_source", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renovation_fund_source_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "renovation_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_class", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quantity", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("contractor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("building_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_item_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_item")),
    )
    with op.batch_alter_table("renovation_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renovation_item_project_id"), ["project_id"], unique=False)

    op.create_table(
        "renovation_role",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("appointed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointed_by"], ["user_account.id"], name=op.f("fk_renovation_role_appointed_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_role_project_id_renovation_project"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_renovation_role_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_role")),
        sa.UniqueConstraint(
            "project_id", "user_id", "role", name=op.f("uq_renovation_role_project_id_user_id_role")
        ),
    )
    op.create_table(
        "renovation_self_assessment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_renovation_self_assessment_author_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_self_assessment_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_self_assessment")),
        sa.UniqueConstraint(
            "project_id", "period", name=op.f("uq_renovation_self_assessment_project_id_period")
        ),
    )
    op.create_table(
        "renovation_milestone",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("actual_on", sa.Date(), nullable=True),
        sa.Column("building_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["renovation_item.id"], name=op.f("fk_renovation_milestone_item_id_renovation_item")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_milestone_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_milestone")),
    )
    with op.batch_alter_table("renovation_milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renovation_milestone_project_id"), ["project_id"], unique=False)

    op.create_table(
        "renovation_payment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("payee", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("approver_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("voucher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["user_account.id"], name=op.f("fk_renovation_payment_approver_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["renovation_item.id"], name=op.f("fk_renovation_payment_item_id_renovation_item")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_payment_project_id_renovation_project"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["user_account.id"], name=op.f("fk_renovation_payment_recorded_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["renovation_fund_source.id"],
            name=op.f("fk_renovation_payment_source_id_renovation_fund_source"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["attachment.id"], name=op.f("fk_renovation_payment_voucher_id_attachment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_payment")),
        sa.UniqueConstraint("project_id", "seq", name=op.f("uq_renovation_payment_project_id_seq")),
    )
    op.create_table(
        "renovation_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("collector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collector_id"],
            ["user_account.id"],
            name=op.f("fk_renovation_request_collector_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_renovation_request_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_request_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_request")),
    )
    with op.batch_alter_table("renovation_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renovation_request_project_id"), ["project_id"], unique=False)

    op.create_table(
        "renovation_signoff",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inspector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["user_account.id"],
            name=op.f("fk_renovation_signoff_inspector_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["renovation_item.id"], name=op.f("fk_renovation_signoff_item_id_renovation_item")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_signoff_project_id_renovation_project"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_signoff")),
    )
    with op.batch_alter_table("renovation_signoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renovation_signoff_project_id"), ["project_id"], unique=False)

    op.create_table(
        "renovation_supervision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("supervisor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("problem", sa.Boolean(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("deadline_on", sa.Date(), nullable=True),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", services.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["renovation_item.id"],
            name=op.f("fk_renovation_supervision_item_id_renovation_item"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["renovation_project.id"],
            name=op.f("fk_renovation_supervision_project_id_renovation_project"),
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["user_account.id"],
            name=op.f("fk_renovation_supervision_supervisor_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renovation_supervision")),
    )
    with op.batch_alter_table("renovation_supervision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renovation_supervision_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("renovation_supervision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_supervision_project_id"))

    op.drop_table("renovation_supervision")
    with op.batch_alter_table("renovation_signoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_signoff_project_id"))

    op.drop_table("renovation_signoff")
    with op.batch_alter_table("renovation_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_request_project_id"))

    op.drop_table("renovation_request")
    op.drop_table("renovation_payment")
    with op.batch_alter_table("renovation_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_milestone_project_id"))

    op.drop_table("renovation_milestone")
    op.drop_table("renovation_self_assessment")
    op.drop_table("renovation_role")
    with op.batch_alter_table("renovation_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_item_project_id"))

    op.drop_table("renovation_item")
    with op.batch_alter_table("renovation_fund_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_fund_source_project_id"))

    op.drop_table("renovation_fund_source")
    with op.batch_alter_table("renovation_approval_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renovation_approval_step_project_id"))

    op.drop_table("renovation_approval_step")
    with op.batch_alter_table("renovation_project", schema=None) as batch_op:
        batch_op.drop_index("ix_renovation_project_community_id_id")

    op.drop_table("renovation_project")
