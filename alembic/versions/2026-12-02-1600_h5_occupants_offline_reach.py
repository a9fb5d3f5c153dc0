"""occupants without accounts, desk intake and SMS-only recipients, offline notice reach (issue 21)

Revision ID: h5a0cc0a5021
Revises: h6a1c2d3e4f5
Create Date: 2026-12-02 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'h5a0cc0a5021'
down_revision: str | None = "h6a1c2d3e4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
AT = services.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('occupant',
    sa.Column('id', BIGID, nullable=False),
    sa.Column('community_id', BIGID, nullable=False),
    sa.Column('household_id', BIGID, nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('relation', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by_id', BIGID, nullable=False),
    sa.Column('created_at', AT, nullable=False),
    sa.Column('updated_at', AT, nullable=False),
    sa.Column('deleted_at', AT, nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_occupant_community_id_community')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_occupant_household_id_household')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_occupant_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_occupant'))
    )
    op.create_index('ix_occupant_household_id_id', 'occupant', ['household_id', 'id'], unique=False)
    op.create_index('ix_occupant_community_id_phone', 'occupant', ['community_id', 'phone'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.alter_column('reporter_id', existing_type=BIGID, nullable=True)
        batch_op.add_column(sa.Column('occupant_id', BIGID, nullable=True))
        batch_op.add_column(sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.create_foreign_key(op.f('fk_ticket_occupant_id_occupant'), 'occupant', ['occupant_id'], ['id'])

    with op.batch_alter_table('ticket_rating', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=True)
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False, server_default='app'))
        batch_op.add_column(sa.Column('recorded_by_id', BIGID, nullable=True))
        batch_op.create_foreign_key(op.f('fk_ticket_rating_recorded_by_id_user_account'), 'user_account', ['recorded_by_id'], ['id'])

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline_reach', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('notice_receipt', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=True)
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default='app'))
        batch_op.add_column(sa.Column('recorded_by_id', BIGID, nullable=True))
    op.create_index(
        'uq_notice_receipt_household_channel', 'notice_receipt', ['notice_id', 'household_id', 'channel'],
        unique=True, sqlite_where=sa.text("channel <> 'app'"), postgresql_where=sa.text("channel <> 'app'"),
    )

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=True)
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.create_unique_constraint(op.f('uq_notification_phone_dedupe_key'), ['phone', 'dedupe_key'])

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=True)


def downgrade() -> None:
    # Rows that only exist for people without an account cannot survive NOT NULL user columns.
    op.execute("DELETE FROM delivery WHERE user_id IS NULL")
    op.execute("DELETE FROM notification WHERE user_id IS NULL")
    op.execute("DELETE FROM notice_receipt WHERE user_id IS NULL")
    op.execute("DELETE FROM ticket_rating WHERE user_id IS NULL")
    op.execute("UPDATE ticket SET reporter_id = created_by_id WHERE reporter_id IS NULL")

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=False)

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_notification_phone_dedupe_key'), type_='unique')
        batch_op.drop_column('phone')
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=False)

    op.drop_index('uq_notice_receipt_household_channel', table_name='notice_receipt')
    with op.batch_alter_table('notice_receipt', schema=None) as batch_op:
        batch_op.drop_column('recorded_by_id')
        batch_op.drop_column('channel')
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=False)

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('offline_reach')

    with op.batch_alter_table('ticket_rating', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_ticket_rating_recorded_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('recorded_by_id')
        batch_op.drop_column('channel')
        batch_op.alter_column('user_id', existing_type=BIGID, nullable=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_ticket_occupant_id_occupant'), type_='foreignkey')
        batch_op.drop_column('place')
        batch_op.drop_column('occupant_id')
        batch_op.alter_column('reporter_id', existing_type=BIGID, nullable=False)

    op.drop_index('ix_occupant_community_id_phone', table_name='occupant')
    op.drop_index('ix_occupant_household_id_id', table_name='occupant')
    op.drop_table('occupant')
