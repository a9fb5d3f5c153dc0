"""polls: surveys and votes, questions, options, hash-chained ballots

Revision ID: f3b1c2d3e401
Revises: af4dd2e01da2
Create Date: 2026-11-26 23:51:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import services.models.base
from alembic import op

revision: str = 'f3b1c2d3e401'
down_revision: str | None = 'af4dd2e01da2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('poll',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('community_id', BIGINT, nullable=False),
    sa.Column('notice_id', BIGINT, nullable=True),
    sa.Column('author_id', BIGINT, nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('eligibility', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('results_visibility', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('decision_question_id', BIGINT, nullable=True),
    sa.Column('households_ratio', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('area_ratio', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('opens_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('announced_at', services.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('ballot_count', sa.Integer(), nullable=False),
    sa.Column('last_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_poll_author_id_user_account')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_poll_community_id_community')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll'))
    )
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.create_index('ix_poll_announced_at_opens_at', ['announced_at', 'opens_at'], unique=False)
        batch_op.create_index('ix_poll_closed_at_closes_at', ['closed_at', 'closes_at'], unique=False)
        batch_op.create_index('ix_poll_community_id_id', ['community_id', 'id'], unique=False)

    op.create_table('poll_question',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('poll_id', BIGINT, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('max_choices', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], name=op.f('fk_poll_question_poll_id_poll')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_question'))
    )
    with op.batch_alter_table('poll_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_question_poll_id'), ['poll_id'], unique=False)

    op.create_table('poll_option',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('poll_id', BIGINT, nullable=False),
    sa.Column('question_id', BIGINT, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], name=op.f('fk_poll_option_poll_id_poll')),
    sa.ForeignKeyConstraint(['question_id'], ['poll_question.id'], name=op.f('fk_poll_option_question_id_poll_question')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_option'))
    )
    with op.batch_alter_table('poll_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_option_question_id'), ['question_id'], unique=False)

    op.create_table('ballot',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('poll_id', BIGINT, nullable=False),
    sa.Column('household_id', BIGINT, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('voter_id', BIGINT, nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('cast_at', services.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_ballot_household_id_household')),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], name=op.f('fk_ballot_poll_id_poll')),
    sa.ForeignKeyConstraint(['voter_id'], ['user_account.id'], name=op.f('fk_ballot_voter_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot')),
    sa.UniqueConstraint('poll_id', 'household_id', name=op.f('uq_ballot_poll_id_household_id')),
    sa.UniqueConstraint('poll_id', 'seq', name=op.f('uq_ballot_poll_id_seq'))
    )

    op.create_table('ballot_voter',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('poll_id', BIGINT, nullable=False),
    sa.Column('household_id', BIGINT, nullable=False),
    sa.Column('voter_id', BIGINT, nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_ballot_voter_household_id_household')),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], name=op.f('fk_ballot_voter_poll_id_poll')),
    sa.ForeignKeyConstraint(['voter_id'], ['user_account.id'], name=op.f('fk_ballot_voter_voter_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_voter')),
    sa.UniqueConstraint('poll_id', 'household_id', name=op.f('uq_ballot_voter_poll_id_household_id'))
    )

    op.create_table('ballot_answer',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('ballot_id', BIGINT, nullable=False),
    sa.Column('question_id', BIGINT, nullable=False),
    sa.Column('option_id', BIGINT, nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_ballot_answer_ballot_id_ballot')),
    sa.ForeignKeyConstraint(['option_id'], ['poll_option.id'], name=op.f('fk_ballot_answer_option_id_poll_option')),
    sa.ForeignKeyConstraint(['question_id'], ['poll_question.id'], name=op.f('fk_ballot_answer_question_id_poll_question')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_answer'))
    )
    with op.batch_alter_table('ballot_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_answer_ballot_id'), ['ballot_id'], unique=False)
        batch_op.create_index('ix_ballot_answer_question_id_option_id', ['question_id', 'option_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ballot_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_ballot_answer_question_id_option_id')
        batch_op.drop_index(batch_op.f('ix_ballot_answer_ballot_id'))
    op.drop_table('ballot_answer')
    op.drop_table('ballot_voter')
    op.drop_table('ballot')
    with op.batch_alter_table('poll_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_option_question_id'))
    op.drop_table('poll_option')
    with op.batch_alter_table('poll_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_question_poll_id'))
    op.drop_table('poll_question')
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_index('ix_poll_community_id_id')
        batch_op.drop_index('ix_poll_closed_at_closes_at')
        batch_op.drop_index('ix_poll_announced_at_opens_at')
    op.drop_table('poll')
