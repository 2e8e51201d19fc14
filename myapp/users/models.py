from sqlalchemy import ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, object_session, validates

from ..db.replication import note_writer
from ..models import Base, Timestamped

#: Unicode full case folding maps one character to at most three.
CASEFOLD_GROWTH = 3


def lookup_key(value):
    """The form of a username or email that uniqueness and look-ups compare.

    Unicode full case folding (``str.casefold``), computed here rather than
    with SQL ``lower()``: SQLite's ``lower()`` folds ASCII only and
    PostgreSQL's depends on the database's locale, so the two databases would
    disagree about whether ``Ä`` and ``ä`` are one name.
    """
    return value.casefold()


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # lookup_key(username) and lookup_key(email), kept by _set_lookup_key:
    # their unique indexes make "Alice" and "alice" one account name.
    username_key: Mapped[str] = mapped_column(String(64 * CASEFOLD_GROWTH), index=True, unique=True)
    email_key: Mapped[str] = mapped_column(String(254 * CASEFOLD_GROWTH), index=True, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Tokens carry the version they were issued at; changing the password
    # increments it, which revokes every earlier token but the one that made
    # the change, whose id is kept here (myapp.auth.tokens.Tokens).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_by: Mapped[str | None] = mapped_column(String(64))
    bio: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(2048))

    @validates("username", "email")
    def _set_lookup_key(self, field, value):
        setattr(self, f"{field}_key", lookup_key(value))
        return value

    def __repr__(self):
        return f"<User {self.id} {self.username!r}>"


@event.listens_for(User, "after_insert")
@event.listens_for(User, "after_update")
def _note_writer(mapper, connection, user):
    # Read-your-writes (myapp.db.replication): a request that creates or
    # changes a user row wrote as that user, a registration included. An ORM
    # flush calls this for every such row, dirty ones with no net change too.
    note_writer(object_session(user), user.id)


class Follow(Base):
    """``follower`` follows ``followee``."""

    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
