"""Civil Code votes: a decision rule per poll; paper ballots (who recorded them, the form's hash)

Revision ID: d4c1c0de2780
Revises: 0a11a2ea5001
Create Date: 2026-12-02 15:45:00+00:00

Existing polls keep the rule they effectively used: strictly more than their ratios of ALL households
and of ALL area, which with the default 1/2 and 1/2 is the named `double_majority_all` rule and with any
other ratios a `custom` rule.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = "d4c1c0de2780"
down_revision: str | None = "0a11a2ea5001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = services.models.base.BigIntId


def upgrade() -> None:
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "decision_rule",
                sqlmodel.sql.sqltypes.AutoString(length=24),
                nullable=False,
                server_default="ordinary",
            )
        )
    op.execute(
        "UPDATE poll SET decision_rule = CASE WHEN households_ratio = '1/2' AND area_ratio = '1/2' "
        "THEN 'double_majority_all' ELSE 'custom' END"
    )
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.alter_column("decision_rule", server_default=None)
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by_id", BIGINT, nullable=True))
        batch_op.add_column(
            sa.Column("form_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ballot_recorded_by_id_user_account"), "user_account", ["recorded_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ballot_recorded_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("form_sha256")
        batch_op.drop_column("recorded_by_id")
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.drop_column("decision_rule")
