"""duty: party organisation, duty posts, assignments, shifts, check-ins, swaps, duty log, service-hours
ledger, activities and sign-ups

Revision ID: a4c2d3e4f501
Revises: af4dd2e01da2
Create Date: 2026-11-26 23:52:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'a4c2d3e4f501'
down_revision: str | None = 'af4dd2e01da2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('activity',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_activity_community_id_community')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_activity_created_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity'))
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_community_id'), ['community_id'], unique=False)

    op.create_table('duty_contact_pref',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('share_phone', sa.Boolean(), nullable=False),
    sa.Column('allow_message', sa.Boolean(), nullable=False),
    sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_contact_pref_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_contact_pref')),
    sa.UniqueConstraint('user_id', name=op.f('uq_duty_contact_pref_user_id'))
    )
    op.create_table('duty_post',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('custom_category', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('building_ids', sa.JSON(), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_duty_post_community_id_community')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_duty_post_created_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_post'))
    )
    with op.batch_alter_table('duty_post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_post_community_id'), ['community_id'], unique=False)

    op.create_table('party_organisation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('secretary_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_party_organisation_community_id_community')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_party_organisation_created_by_user_account')),
    sa.ForeignKeyConstraint(['secretary_id'], ['user_account.id'], name=op.f('fk_party_organisation_secretary_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_organisation')),
    sa.UniqueConstraint('community_id', name=op.f('uq_party_organisation_community_id'))
    )
    op.create_table('service_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_service_log_community_id_community')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_service_log_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_log')),
    sa.UniqueConstraint('source', 'source_id', 'user_id', name=op.f('uq_service_log_source_source_id_user_id'))
    )
    with op.batch_alter_table('service_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_log_community_id'), ['community_id'], unique=False)
        batch_op.create_index('ix_service_log_user_id_at', ['user_id', 'at'], unique=False)

    op.create_table('activity_signup',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('signed_up_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_activity_signup_activity_id_activity')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_activity_signup_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_signup')),
    sa.UniqueConstraint('activity_id', 'user_id', name=op.f('uq_activity_signup_activity_id_user_id'))
    )
    with op.batch_alter_table('activity_signup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_signup_user_id'), ['user_id'], unique=False)

    op.create_table('duty_assignment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['duty_post.id'], name=op.f('fk_duty_assignment_post_id_duty_post')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_assignment_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_assignment'))
    )
    with op.batch_alter_table('duty_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_assignment_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_assignment_user_id'), ['user_id'], unique=False)

    op.create_table('duty_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['duty_post.id'], name=op.f('fk_duty_log_post_id_duty_post')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_log_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_log'))
    )
    with op.batch_alter_table('duty_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_log_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_log_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('duty_shift',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('recurrence_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('missed_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_duty_shift_community_id_community')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_duty_shift_created_by_user_account')),
    sa.ForeignKeyConstraint(['post_id'], ['duty_post.id'], name=op.f('fk_duty_shift_post_id_duty_post')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift')),
    sa.UniqueConstraint('post_id', 'starts_at', name=op.f('uq_duty_shift_post_id_starts_at'))
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shift_recurrence_id'), ['recurrence_id'], unique=False)
        batch_op.create_index('ix_duty_shift_status_starts_at', ['status', 'starts_at'], unique=False)

    op.create_table('duty_checkin',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('checkin_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checkout_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('auto_checkout', sa.Boolean(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('checkout_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shift.id'], name=op.f('fk_duty_checkin_shift_id_duty_shift')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_checkin_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_checkin')),
    sa.UniqueConstraint('shift_id', 'user_id', name=op.f('uq_duty_checkin_shift_id_user_id'))
    )
    with op.batch_alter_table('duty_checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_checkin_user_id'), ['user_id'], unique=False)

    op.create_table('duty_shift_assignee',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shift.id'], name=op.f('fk_duty_shift_assignee_shift_id_duty_shift')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_shift_assignee_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift_assignee')),
    sa.UniqueConstraint('shift_id', 'user_id', name=op.f('uq_duty_shift_assignee_shift_id_user_id'))
    )
    with op.batch_alter_table('duty_shift_assignee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shift_assignee_user_id'), ['user_id'], unique=False)

    op.create_table('duty_swap_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('to_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['user_account.id'], name=op.f('fk_duty_swap_request_decided_by_user_account')),
    sa.ForeignKeyConstraint(['from_user_id'], ['user_account.id'], name=op.f('fk_duty_swap_request_from_user_id_user_account')),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shift.id'], name=op.f('fk_duty_swap_request_shift_id_duty_shift')),
    sa.ForeignKeyConstraint(['to_user_id'], ['user_account.id'], name=op.f('fk_duty_swap_request_to_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_swap_request'))
    )
    with op.batch_alter_table('duty_swap_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_swap_request_shift_id'), ['shift_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('duty_swap_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_swap_request_shift_id'))

    op.drop_table('duty_swap_request')
    with op.batch_alter_table('duty_shift_assignee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_shift_assignee_user_id'))

    op.drop_table('duty_shift_assignee')
    with op.batch_alter_table('duty_checkin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_checkin_user_id'))

    op.drop_table('duty_checkin')
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shift_status_starts_at')
        batch_op.drop_index(batch_op.f('ix_duty_shift_recurrence_id'))

    op.drop_table('duty_shift')
    with op.batch_alter_table('duty_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_log_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_duty_log_post_id'))

    op.drop_table('duty_log')
    with op.batch_alter_table('duty_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_duty_assignment_post_id'))

    op.drop_table('duty_assignment')
    with op.batch_alter_table('activity_signup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_signup_user_id'))

    op.drop_table('activity_signup')
    with op.batch_alter_table('service_log', schema=None) as batch_op:
        batch_op.drop_index('ix_service_log_user_id_at')
        batch_op.drop_index(batch_op.f('ix_service_log_community_id'))

    op.drop_table('service_log')
    op.drop_table('party_organisation')
    with op.batch_alter_table('duty_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_post_community_id'))

    op.drop_table('duty_post')
    op.drop_table('duty_contact_pref')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_community_id'))

    op.drop_table('activity')
