"""notices: notices, receipts, comments and objections

Revision ID: e2a0b1c2d301
Revises: af4dd2e01da2
Create Date: 2026-11-26 23:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'e2a0b1c2d301'
down_revision: str | None = 'af4dd2e01da2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_role', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('audience_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('audience_building_ids', sa.JSON(), nullable=False),
    sa.Column('audience_roles', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('publish_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('requires_ack', sa.Boolean(), nullable=False),
    sa.Column('comment_window_days', sa.Integer(), nullable=True),
    sa.Column('comment_closes_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('outcome_detail', sa.JSON(), nullable=True),
    sa.Column('outcome_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('change_summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('withdrawn_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('withdrawn_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_notice_author_id_user_account')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_notice_community_id_community')),
    sa.ForeignKeyConstraint(['previous_id'], ['notice.id'], name=op.f('fk_notice_previous_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('previous_id', name=op.f('uq_notice_previous_id'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_feed', ['community_id', 'status', 'pinned', 'published_at', 'id'], unique=False)
        batch_op.create_index('ix_notice_status_comment_closes_at', ['status', 'comment_closes_at'], unique=False)
        batch_op.create_index('ix_notice_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_notice_status_publish_at', ['status', 'publish_at'], unique=False)

    op.create_table('notice_comment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('is_objection', sa.Boolean(), nullable=False),
    sa.Column('answer_body', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('answered_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answered_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['user_account.id'], name=op.f('fk_notice_comment_answered_by_user_account')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_notice_comment_household_id_household')),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_comment_notice_id_notice')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notice_comment_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_comment'))
    )

    with op.batch_alter_table('notice_comment', schema=None) as batch_op:
        batch_op.create_index('ix_notice_comment_notice_id_id', ['notice_id', 'id'], unique=False)

    op.create_table('notice_receipt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('delivered_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acked_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_receipt_notice_id_notice')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notice_receipt_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_receipt')),
    sa.UniqueConstraint('notice_id', 'user_id', name=op.f('uq_notice_receipt_notice_id_user_id'))
    )
    with op.batch_alter_table('notice_receipt', schema=None) as batch_op:
        batch_op.create_index('ix_notice_receipt_notice_id_building_id', ['notice_id', 'building_id'], unique=False)
        batch_op.create_index('ix_notice_receipt_user_id_notice_id', ['user_id', 'notice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice_receipt', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_receipt_user_id_notice_id')
        batch_op.drop_index('ix_notice_receipt_notice_id_building_id')

    op.drop_table('notice_receipt')
    with op.batch_alter_table('notice_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_comment_notice_id_id')

    op.drop_table('notice_comment')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_status_publish_at')
        batch_op.drop_index('ix_notice_status_expires_at')
        batch_op.drop_index('ix_notice_status_comment_closes_at')
        batch_op.drop_index('ix_notice_feed')

    op.drop_table('notice')
