"""Push providers: device.provider (fcm / jpush / apns) with tokens unique per provider, the login
session a device was registered from, and delivery.provider (each provider drains in its own lane).
Existing devices and push deliveries are FCM.

Revision ID: h1a5b0d1e601
Revises: d4c1c0de2780
Create Date: 2026-12-02 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = 'h1a5b0d1e601'
down_revision: str | None = 'd4c1c0de2780'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default='fcm')
        )
        batch_op.add_column(sa.Column('session_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.drop_constraint('uq_device_token', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_device_provider_token'), ['provider', 'token'])
        batch_op.create_index(batch_op.f('ix_device_session_id'), ['session_id'], unique=False)
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.alter_column('provider', server_default=None)
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
    op.execute("UPDATE delivery SET provider = 'fcm' WHERE channel = 'push'")


def downgrade() -> None:
    # Tokens of other providers cannot be kept under a token-only unique key: they go (their
    # deliveries keep their history, device_id is set to NULL by the foreign key).
    op.execute("UPDATE delivery SET device_id = NULL WHERE device_id IN (SELECT id FROM device WHERE provider <> 'fcm')")
    op.execute("DELETE FROM device WHERE provider <> 'fcm'")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('provider')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_session_id'))
        batch_op.drop_constraint(batch_op.f('uq_device_provider_token'), type_='unique')
        batch_op.create_unique_constraint('uq_device_token', ['token'])
        batch_op.drop_column('session_id')
        batch_op.drop_column('provider')
