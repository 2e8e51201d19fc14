"""Maintained counts: the counters table and the backfill's progress row

Revision ID: 3b9d0c6e1f42
Revises: c41e7f2a9b58
Create Date: 2026-12-04 18:00:00

New tables only (quick on any database size). Every article is "not counted
yet" (``counter_backfill.next_id`` = 0): the application adds deltas only for
counted articles, and the next revision counts the others, so writes made in
between, by this or an older version of the application, are all counted
once. Until that revision is done, the answers' counts miss the articles it
has not reached yet.
"""
from alembic import op
import sqlalchemy as sa

revision = '3b9d0c6e1f42'
down_revision = 'c41e7f2a9b58'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'counters',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('slot', sa.SmallInteger(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'subject', 'slot', name=op.f('pk_counters')),
    )
    backfill = op.create_table(
        'counter_backfill',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('next_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_backfill')),
    )
    op.bulk_insert(backfill, [{'id': 1, 'next_id': 0}])


def downgrade():
    op.drop_table('counter_backfill')
    op.drop_table('counters')
