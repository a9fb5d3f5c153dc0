"""alarm → ticket: one alarm per ticket, and the ticket finds its alarm (unique index on alarm.ticket_id)

Revision ID: h15t0a1a0001
Revises: h19a7r3n0v01
Create Date: 2026-12-03 11:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "h15t0a1a0001"
down_revision: str | None = "h19a7r3n0v01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("uq_alarm_ticket_id", "alarm", ["ticket_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_alarm_ticket_id", table_name="alarm")
