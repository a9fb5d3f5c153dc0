"""attachments

Revision ID: c7a77ac4e001
Revises: af4dd2e01da2
Create Date: 2026-11-26 23:31:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'c7a77ac4e001'
down_revision: str | None = 'af4dd2e01da2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('thumb_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('original_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('uploaded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_attachment_community_id_community')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['user_account.id'], name=op.f('fk_attachment_uploaded_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_owner', ['owner_type', 'owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_owner')

    op.drop_table('attachment')
