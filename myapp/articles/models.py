import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from ..models import Base, Timestamped, utcnow


class Article(Timestamped, Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    tags: Mapped[list["ArticleTag"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise", order_by="ArticleTag.name"
    )


class ArticleTag(Base):
    """A tag on an article. Tags have no table of their own: a tag exists while
    an article carries it, and adding one never races with another request.

    ``created_at`` is a copy of the article's, so that a tag's page reads its
    newest articles straight from one index, for a rare tag as for one on a
    third of the articles. The database keeps it, in the writing statement
    (triggers, alembic revision 5d3a9e7c1b20): it copies the article's when an
    insert leaves it NULL, so every writer keeps it right, the previous
    version of the application during a rolling upgrade and scripts included,
    and copies an article's changed ``created_at`` (the application never
    changes it; a data fix may). The ORM never names it (``unmapped_column``), and
    the reads use it through the table. It is nullable for SQLite, whose
    trigger can only fill it after the insert; on PostgreSQL a validated
    CHECK constraint keeps NULL out.
    """

    __tablename__ = "article_tags"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Unmapped[datetime.datetime | None] = unmapped_column(DateTime(timezone=True))


# Pages newest first, each read in the order of one index (myapp.articles.filters):
# an author's page and each followed author of the feed (also the foreign key's
# index), and a tag's page.
_articles, _tags = Article.__table__.c, ArticleTag.__table__.c
Index("ix_articles_author_id_created_at_id", _articles.author_id, _articles.created_at.desc(), _articles.id.desc())
Index("ix_article_tags_name_created_at_article_id", _tags.name, _tags.created_at.desc(), _tags.article_id.desc())


class Favorite(Base):
    __tablename__ = "favorites"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Counter(Base):
    """One slot of a maintained count (myapp.articles.counters): the count is the sum of its slots."""

    __tablename__ = "counters"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class CounterBackfill(Base):
    """One row while the counters are being filled: articles from ``next_id`` on are not counted yet."""

    __tablename__ = "counter_backfill"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_id: Mapped[int] = mapped_column(BigInteger)
