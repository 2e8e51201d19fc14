"""Case-insensitive usernames and emails, token versions, login attempts

Revision ID: 5c1f0e2d7a93
Revises: 982b3f7b1d1b
Create Date: 2026-11-21 11:10:00

Existing users get ``username_key`` and ``email_key`` (myapp.users.models.
lookup_key, the application's own folding). When two existing users'
usernames or emails differ only in case, the upgrade stops before changing
anything and names them: which account keeps the name is a decision for a
person (merge, rename or delete), not for a migration.

SQLite: columns are added with ALTER TABLE, never by copying the table
(Alembic's batch mode), because dropping the old ``users`` table would
cascade-delete every article, comment and follow. So the two key columns
keep an empty-string server default there; the application always sets them.
"""
from alembic import op
import sqlalchemy as sa

from myapp.users.models import CASEFOLD_GROWTH, lookup_key

revision = '5c1f0e2d7a93'
down_revision = '982b3f7b1d1b'
branch_labels = None
depends_on = None

IDENTITY_FIELDS = ("username", "email")


class CaseCollision(RuntimeError):
    """Existing users whose usernames or emails are equal regardless of case."""


def collisions(rows):
    """{(field, key): [(id, value), ...]} for every key held by more than one user."""
    groups = {}
    for user_id, *values in rows:
        for field, value in zip(IDENTITY_FIELDS, values):
            groups.setdefault((field, lookup_key(value)), []).append((user_id, value))
    return {key: holders for key, holders in groups.items() if len(holders) > 1}


def upgrade():
    connection = op.get_bind()
    users = sa.table("users", sa.column("id"), sa.column("username"), sa.column("email"),
                     sa.column("username_key"), sa.column("email_key"))
    rows = connection.execute(sa.select(users.c.id, users.c.username, users.c.email)
                              .order_by(users.c.id)).all()
    found = collisions(rows)
    if found:
        lines = [
            f"  {field} {key!r}: " + ", ".join(f"user {user_id} {value!r}" for user_id, value in holders)
            for (field, key), holders in sorted(found.items())
        ]
        raise CaseCollision(
            "usernames or emails that differ only in case; rename, merge or delete "
            "all but one of each group, then migrate again:\n" + "\n".join(lines)
        )

    op.add_column('users', sa.Column('username_key', sa.String(length=64 * CASEFOLD_GROWTH),
                                     nullable=False, server_default=''))
    op.add_column('users', sa.Column('email_key', sa.String(length=254 * CASEFOLD_GROWTH),
                                     nullable=False, server_default=''))
    op.add_column('users', sa.Column('token_version', sa.Integer(), server_default='0',
                                     nullable=False))
    op.add_column('users', sa.Column('password_changed_by', sa.String(length=64), nullable=True))
    for user_id, username, email in rows:
        connection.execute(users.update().where(users.c.id == user_id).values(
            username_key=lookup_key(username), email_key=lookup_key(email)))
    if connection.dialect.name != 'sqlite':
        op.alter_column('users', 'username_key', server_default=None)
        op.alter_column('users', 'email_key', server_default=None)
    op.create_index(op.f('ix_users_username_key'), 'users', ['username_key'], unique=True)
    op.create_index(op.f('ix_users_email_key'), 'users', ['email_key'], unique=True)

    op.create_table('login_attempts',
    sa.Column('key', sa.String(length=1024), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_attempts'))
    )
    op.create_index(op.f('ix_login_attempts_window_start'), 'login_attempts', ['window_start'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_login_attempts_window_start'), table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_index(op.f('ix_users_email_key'), table_name='users')
    op.drop_index(op.f('ix_users_username_key'), table_name='users')
    # ALTER TABLE ... DROP COLUMN: SQLite 3.35 and later, no table copy.
    op.drop_column('users', 'password_changed_by')
    op.drop_column('users', 'token_version')
    op.drop_column('users', 'email_key')
    op.drop_column('users', 'username_key')
