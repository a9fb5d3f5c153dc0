"""index every foreign key (issue 17): a delete checks each referencing table through one

Revision ID: h17a0fk0001
Revises: h20a0e1a0001
Create Date: 2026-12-03 14:45:00.000000+00:00

Without an index leading with the referencing column, PostgreSQL checks a foreign key on every
deleted (or re-keyed) parent row with a sequential scan of the child table: deleting or merging 15k
tickets seq-scanned every inspection item once per ticket (minutes). The model side is
`fk_field(...)` with its default index=True; tests/services/test_foreign_key_indexes.py walks the
migrated schema so a new foreign key without an index fails there.

Plain CREATE INDEX, in the migration's transaction: it blocks writes to each table while that index
builds (seconds per million rows). On a live deployment with big tables an operator builds them
first, outside any transaction, with the same names:
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_ticket_building_id ON ticket (building_id);
and this revision then finds them and does nothing (IF NOT EXISTS). CONCURRENTLY is not used here:
it cannot run inside a transaction, and a failed concurrent build leaves an INVALID index that
IF NOT EXISTS would then silently accept.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "h17a0fk0001"
down_revision: str | None = "h20a0e1a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, foreign-key column): index ix_<table>_<column>, the models' naming convention.
FOREIGN_KEYS = [
    ("activity", "created_by"),
    ("alarm", "acknowledged_by"),
    ("alarm", "building_id"),
    ("alarm", "cleared_by"),
    ("alarm", "closed_by"),
    ("alarm_device", "building_id"),
    ("alarm_device", "created_by"),
    ("alarm_device", "duty_post_id"),
    ("alarm_event", "actor_id"),
    ("alarm_event", "community_id"),
    ("alarm_webhook_receipt", "alarm_id"),
    ("attachment", "community_id"),
    ("attachment", "uploaded_by"),
    ("ballot", "household_id"),
    ("ballot", "recorded_by_id"),
    ("ballot", "voter_id"),
    ("ballot_answer", "option_id"),
    ("ballot_voter", "household_id"),
    ("ballot_voter", "voter_id"),
    ("call_binding", "callee_id"),
    ("call_binding", "caller_id"),
    ("call_binding", "community_id"),
    ("delivery", "device_id"),
    ("delivery", "user_id"),
    ("duty_log", "user_id"),
    ("duty_post", "created_by"),
    ("duty_shift", "community_id"),
    ("duty_shift", "created_by"),
    ("duty_swap_request", "decided_by"),
    ("duty_swap_request", "from_user_id"),
    ("duty_swap_request", "to_user_id"),
    ("inspection", "building_id"),
    ("inspection", "inspector_id"),
    ("inspection_item", "ticket_id"),
    ("membership", "decided_by"),
    ("notice", "author_id"),
    ("notice_comment", "answered_by"),
    ("notice_comment", "household_id"),
    ("notice_comment", "user_id"),
    ("notification", "community_id"),
    ("notification_fanout", "community_id"),
    ("occupant", "created_by_id"),
    ("party_organisation", "created_by"),
    ("party_organisation", "secretary_id"),
    ("poll", "author_id"),
    ("poll_option", "poll_id"),
    ("renovation_milestone", "item_id"),
    ("renovation_payment", "approver_id"),
    ("renovation_payment", "item_id"),
    ("renovation_payment", "recorded_by"),
    ("renovation_payment", "source_id"),
    ("renovation_payment", "voucher_id"),
    ("renovation_project", "created_by"),
    ("renovation_request", "collector_id"),
    ("renovation_request", "household_id"),
    ("renovation_role", "appointed_by"),
    ("renovation_role", "user_id"),
    ("renovation_self_assessment", "author_id"),
    ("renovation_signoff", "inspector_id"),
    ("renovation_signoff", "item_id"),
    ("renovation_supervision", "item_id"),
    ("renovation_supervision", "supervisor_id"),
    ("ticket", "about_staff_id"),
    ("ticket", "building_id"),
    ("ticket", "classified_by_id"),
    ("ticket", "created_by_id"),
    ("ticket", "disputed_by_id"),
    ("ticket", "occupant_id"),
    ("ticket_event", "actor_id"),
    ("ticket_event", "community_id"),
    ("ticket_followup", "done_by_id"),
    ("ticket_rating", "recorded_by_id"),
    ("ticket_rating", "user_id"),
]


def upgrade() -> None:
    for table, column in FOREIGN_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False, if_not_exists=True)


def downgrade() -> None:
    for table, column in reversed(FOREIGN_KEYS):
        op.drop_index(f"ix_{table}_{column}", table_name=table, if_exists=True)
