"""ticket (assignee_id, id): the assigned list reads its page in id order from the index (issue 17)

Revision ID: h17b0as0001
Revises: h18s0ms0001
Create Date: 2026-12-06 03:30:00.000000+00:00

GET /v1/tickets?queue=assigned is `assignee_id = me … ORDER BY id DESC LIMIT n`. With only
(assignee_id, status, id) PostgreSQL either sorted all of a technician's tickets (0.9 ms at 1M) or, for
someone with few or none (a manager opening the tab), walked pk_ticket backwards through every
ticket: 445 ms (docs/benchmarks.md, 2026-12-06). (assignee_id, id) answers both from the index's end.
The status index stays: the workload counts read a technician's open tickets by status.

Plain CREATE INDEX, as h17a0fk0001 explains: on a big live table build it first with
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_ticket_assignee_id_id ON ticket (assignee_id, id);
"""

from collections.abc import Sequence

from alembic import op

revision: str = "h17b0as0001"
down_revision: str | None = "h18s0ms0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_ticket_assignee_id_id ON ticket (assignee_id, id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_ticket_assignee_id_id")
