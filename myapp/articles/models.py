import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, Timestamped, utcnow


class Article(Timestamped, Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    tags: Mapped[list["ArticleTag"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise", order_by="ArticleTag.name"
    )


class ArticleTag(Base):
    """A tag on an article. Tags have no table of their own: a tag exists while
    an article carries it, and adding one never races with another request."""

    __tablename__ = "article_tags"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


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
