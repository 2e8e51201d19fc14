"""Idempotency keys: the stored answers of keyed POSTs (myapp.edge.idempotency)

Revision ID: a7d4e9c2b611
Revises: 5c1f0e2d7a93
Create Date: 2026-11-21 12:20:00

A new table only; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7d4e9c2b611'
down_revision = '5c1f0e2d7a93'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('headers', sa.Text(), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.Column('expires_at', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_keys_scope')),
    )
    op.create_index(
        op.f('ix_idempotency_keys_expires_at'), 'idempotency_keys', ['expires_at'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_idempotency_keys_expires_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
