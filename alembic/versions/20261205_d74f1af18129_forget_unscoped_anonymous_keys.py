"""Delete the idempotency keys stored under the old, shared anonymous scope

Revision ID: d74f1af18129
Revises: 8e2f5a7c9d13
Create Date: 2026-12-05 05:40:00

Before keys were scoped by the request's fingerprint, a registration's key
was stored under the one scope ``anonymous``, with its answer as sent: the
new user's live token inside ``body``, at rest until the key expired (24 h).
The code now writes ``anonymous:<fingerprint>`` and ``user:<id>`` scopes
(myapp.edge.idempotency) and never looks up the bare ``anonymous`` one, so
those rows can only be purged at expiry: delete them now, tokens with them.
``user:<id>`` rows are the same in both versions (their answers carry no
token) and stay. A repeat of an old registration after this runs again and
answers 409 (the account exists), as it would once the key expired.

Downgrade restores nothing: the rows were stale keys, and their tokens are
what this revision exists to remove.
"""
from alembic import op
import sqlalchemy as sa

revision = 'd74f1af18129'
down_revision = '8e2f5a7c9d13'
branch_labels = None
depends_on = None

#: The scope the code before fingerprint scoping gave every anonymous key.
OLD_ANONYMOUS_SCOPE = 'anonymous'


def upgrade():
    keys = sa.table('idempotency_keys', sa.column('scope'))
    op.execute(keys.delete().where(keys.c.scope == OLD_ANONYMOUS_SCOPE))


def downgrade():
    pass
