from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, Timestamped


class Comment(Timestamped, Base):
    __tablename__ = "comments"
    # An article's comments in order, a page at a time (keyset, myapp.comments.services).
    __table_args__ = (Index("ix_comments_article_id_created_at_id", "article_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

