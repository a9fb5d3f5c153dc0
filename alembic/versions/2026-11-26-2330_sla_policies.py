"""sla policies and calendar exceptions

Revision ID: b5a1c0de5a01
Revises: af4dd2e01da2
Create Date: 2026-11-26 23:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'b5a1c0de5a01'
down_revision: str | None = 'af4dd2e01da2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sla_policy',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('response_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_minutes', sa.Integer(), nullable=False),
    sa.Column('calendar', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('business_start', sa.Time(), nullable=False),
    sa.Column('business_end', sa.Time(), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_sla_policy_community_id_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policy')),
    sa.UniqueConstraint('community_id', 'kind', 'category', 'priority', name=op.f('uq_sla_policy_community_id_kind_category_priority'))
    )
    op.create_table('calendar_exception',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_calendar_exception_community_id_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_exception')),
    sa.UniqueConstraint('community_id', 'day', name=op.f('uq_calendar_exception_community_id_day'))
    )


def downgrade() -> None:
    op.drop_table('calendar_exception')
    op.drop_table('sla_policy')
