"""tickets: tickets, events, ratings, return visits, inspections

Revision ID: d1c4e7ab0001
Revises: af4dd2e01da2
Create Date: 2026-11-26 23:32:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'd1c4e7ab0001'
down_revision: str | None = 'af4dd2e01da2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inspection',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('inspector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('inspected_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_inspection_building_id_building')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_inspection_community_id_community')),
    sa.ForeignKeyConstraint(['inspector_id'], ['user_account.id'], name=op.f('fk_inspection_inspector_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection'))
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_community_id_id', ['community_id', 'id'], unique=False)

    op.create_table('ticket',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('complaint_target', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('intake_channel', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reporter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('appointment_start', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('appointment_end', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('response_minutes', sa.Float(), nullable=False),
    sa.Column('resolution_minutes', sa.Float(), nullable=False),
    sa.Column('response_due_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_warn_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_warn_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalate_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_state', sa.Integer(), nullable=False),
    sa.Column('paused_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.Column('paused_working_minutes', sa.Float(), nullable=False),
    sa.Column('resolution_elapsed_minutes', sa.Float(), nullable=True),
    sa.Column('accepted_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_urged_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('complaint_valid', sa.Boolean(), nullable=True),
    sa.Column('validity_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('classified_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('classified_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disputed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('disputed_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispute_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('rating_overall', sa.Integer(), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_ticket_assignee_id_user_account')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_ticket_building_id_building')),
    sa.ForeignKeyConstraint(['classified_by_id'], ['user_account.id'], name=op.f('fk_ticket_classified_by_id_user_account')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_ticket_community_id_community')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_ticket_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['disputed_by_id'], ['user_account.id'], name=op.f('fk_ticket_disputed_by_id_user_account')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_ticket_household_id_household')),
    sa.ForeignKeyConstraint(['reporter_id'], ['user_account.id'], name=op.f('fk_ticket_reporter_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket'))
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_assignee_status_id', ['assignee_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_ticket_community_status_id', ['community_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_ticket_household_id_id', ['household_id', 'id'], unique=False)
        batch_op.create_index('ix_ticket_reporter_id_id', ['reporter_id', 'id'], unique=False)
        batch_op.create_index('ix_ticket_status_resolution_warn_at', ['status', 'resolution_warn_at'], unique=False)
        batch_op.create_index('ix_ticket_status_resolved_at', ['status', 'resolved_at'], unique=False)
        batch_op.create_index('ix_ticket_status_response_warn_at', ['status', 'response_warn_at'], unique=False)

    op.create_table('inspection_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('inspection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_inspection_item_community_id_community')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_item_inspection_id_inspection')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_inspection_item_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_item'))
    )
    with op.batch_alter_table('inspection_item', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_item_community_kind_at', ['community_id', 'kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_item_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('ticket_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_ticket_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_ticket_event_community_id_community')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_event_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_event'))
    )
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_event_ticket_id_id', ['ticket_id', 'id'], unique=False)

    op.create_table('ticket_followup',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('done_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('done_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_ticket_followup_community_id_community')),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_ticket_followup_done_by_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_followup_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_followup')),
    sa.UniqueConstraint('ticket_id', 'reason', name=op.f('uq_ticket_followup_ticket_id_reason'))
    )
    with op.batch_alter_table('ticket_followup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_followup_community_id'), ['community_id'], unique=False)

    op.create_table('ticket_rating',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('overall', sa.Integer(), nullable=False),
    sa.Column('speed', sa.Integer(), nullable=False),
    sa.Column('attitude', sa.Integer(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_ticket_rating_community_id_community')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_rating_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_ticket_rating_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_rating')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_ticket_rating_ticket_id'))
    )
    with op.batch_alter_table('ticket_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_rating_community_id'), ['community_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_rating_community_id'))

    op.drop_table('ticket_rating')
    with op.batch_alter_table('ticket_followup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_followup_community_id'))

    op.drop_table('ticket_followup')
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_event_ticket_id_id')

    op.drop_table('ticket_event')
    with op.batch_alter_table('inspection_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_item_inspection_id'))
        batch_op.drop_index('ix_inspection_item_community_kind_at')

    op.drop_table('inspection_item')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_status_response_warn_at')
        batch_op.drop_index('ix_ticket_status_resolved_at')
        batch_op.drop_index('ix_ticket_status_resolution_warn_at')
        batch_op.drop_index('ix_ticket_reporter_id_id')
        batch_op.drop_index('ix_ticket_household_id_id')
        batch_op.drop_index('ix_ticket_community_status_id')
        batch_op.drop_index('ix_ticket_assignee_status_id')

    op.drop_table('ticket')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_community_id_id')

    op.drop_table('inspection')
