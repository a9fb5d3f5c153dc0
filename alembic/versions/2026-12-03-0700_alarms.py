"""alarms: devices, alarms and their history, pictures, routing rules, escalations, webhook receipts (issue 15)

Revision ID: a1a1a0000001
Revises: h5a0cc0a5021
Create Date: 2026-12-03 07:06:07.557002+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'a1a1a0000001'
down_revision: str | None = 'h5a0cc0a5021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alarm_route_rule',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('recipient_roles', sa.JSON(), nullable=False),
    sa.Column('include_on_duty', sa.Boolean(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('auto_ticket', sa.Boolean(), nullable=False),
    sa.Column('emergency_notice', sa.Boolean(), nullable=False),
    sa.Column('escalation_stages', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_alarm_route_rule_community_id_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_route_rule'))
    )
    with op.batch_alter_table('alarm_route_rule', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_route_rule_community_type', ['community_id', 'type'], unique=False)

    op.create_table('alarm_device',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('sensor_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('vendor', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=17), nullable=True),
    sa.Column('channel', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('duty_post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('heartbeat_interval_seconds', sa.Integer(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('clear_threshold', sa.Float(), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('secret_encrypted', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('secret_rotated_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('allowed_sources', sa.JSON(), nullable=False),
    sa.Column('last_event_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_heartbeat_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_alarm_device_building_id_building')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_alarm_device_community_id_community')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_alarm_device_created_by_user_account')),
    sa.ForeignKeyConstraint(['duty_post_id'], ['duty_post.id'], name=op.f('fk_alarm_device_duty_post_id_duty_post')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_device'))
    )
    with op.batch_alter_table('alarm_device', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_device_community_id_id', ['community_id', 'id'], unique=False)
        batch_op.create_index('ix_alarm_device_mac', ['mac'], unique=False)
        batch_op.create_index('uq_alarm_device_serial_live', ['serial'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('alarm',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=25), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('first_seen_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cleared_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('clear_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('closed_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('escalation_stage', sa.Integer(), nullable=False),
    sa.Column('raw_event', sa.JSON(), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['user_account.id'], name=op.f('fk_alarm_acknowledged_by_user_account')),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_alarm_building_id_building')),
    sa.ForeignKeyConstraint(['cleared_by'], ['user_account.id'], name=op.f('fk_alarm_cleared_by_user_account')),
    sa.ForeignKeyConstraint(['closed_by'], ['user_account.id'], name=op.f('fk_alarm_closed_by_user_account')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_alarm_community_id_community')),
    sa.ForeignKeyConstraint(['device_id'], ['alarm_device.id'], name=op.f('fk_alarm_device_id_alarm_device')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_alarm_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm'))
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_community_id_id', ['community_id', 'id'], unique=False)
        batch_op.create_index('ix_alarm_community_status_id', ['community_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_alarm_device_id_id', ['device_id', 'id'], unique=False)
        batch_op.create_index('uq_alarm_device_type_active', ['device_id', 'type'], unique=True, sqlite_where=sa.text("status IN ('active_unacknowledged', 'active_acknowledged')"), postgresql_where=sa.text("status IN ('active_unacknowledged', 'active_acknowledged')"))

    op.create_table('alarm_escalation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('due_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_alarm_escalation_alarm_id_alarm')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_escalation')),
    sa.UniqueConstraint('alarm_id', 'stage', name=op.f('uq_alarm_escalation_alarm_id_stage'))
    )
    with op.batch_alter_table('alarm_escalation', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_escalation_due_at', ['sent_at', 'due_at'], unique=False)

    op.create_table('alarm_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_alarm_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_alarm_event_alarm_id_alarm')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_alarm_event_community_id_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_event'))
    )
    with op.batch_alter_table('alarm_event', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_event_alarm_id_id', ['alarm_id', 'id'], unique=False)

    op.create_table('alarm_picture',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attachment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_alarm_picture_alarm_id_alarm')),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_alarm_picture_attachment_id_attachment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_picture')),
    sa.UniqueConstraint('attachment_id', name=op.f('uq_alarm_picture_attachment_id'))
    )
    with op.batch_alter_table('alarm_picture', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_picture_alarm_id_id', ['alarm_id', 'id'], unique=False)

    op.create_table('alarm_webhook_receipt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_alarm_webhook_receipt_alarm_id_alarm')),
    sa.ForeignKeyConstraint(['device_id'], ['alarm_device.id'], name=op.f('fk_alarm_webhook_receipt_device_id_alarm_device')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_webhook_receipt')),
    sa.UniqueConstraint('device_id', 'event_id', name=op.f('uq_alarm_webhook_receipt_device_id_event_id'))
    )
    with op.batch_alter_table('alarm_webhook_receipt', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_webhook_receipt_received_at', ['received_at'], unique=False)



def downgrade() -> None:
    # Indexes go with their tables on both engines; children before parents.
    for table in (
        'alarm_webhook_receipt',
        'alarm_picture',
        'alarm_event',
        'alarm_escalation',
        'alarm',
        'alarm_device',
        'alarm_route_rule',
    ):
        op.drop_table(table)
