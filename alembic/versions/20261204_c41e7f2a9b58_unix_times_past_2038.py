"""Unix times past January 2038: idempotency_keys.expires_at and login_attempts.window_start become BIGINT

Revision ID: c41e7f2a9b58
Revises: a7d4e9c2b611
Create Date: 2026-12-04 18:30:00

Both columns hold Unix times in seconds. A 32-bit INTEGER ends at
2147483647, 2038-01-19 03:14:07 UTC; a key's expiry a day ahead crosses it
on 2038-01-18. On PostgreSQL each column changes type in place (the table is
rewritten under a brief exclusive lock: both tables hold a day's worth of
rows at most). SQLite stores 64-bit integers in either type; its table is
copied with the new declared type so that the schema says what it holds.
"""
from alembic import op
import sqlalchemy as sa

revision = 'c41e7f2a9b58'
down_revision = 'a7d4e9c2b611'
branch_labels = None
depends_on = None

COLUMNS = (('idempotency_keys', 'expires_at'), ('login_attempts', 'window_start'))


def _retype(old, new):
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def upgrade():
    _retype(sa.Integer(), sa.BigInteger())


def downgrade():
    # Fails on PostgreSQL while a row holds a time past 2038, rather than losing it.
    _retype(sa.BigInteger(), sa.Integer())
