from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...models import Base


class IdempotencyKey(Base):
    """The answer to the first request sent with an ``Idempotency-Key``.

    ``scope`` is whose key it is (``user:<id>``, or ``anonymous:<fingerprint>``
    for registration; migration d74f1af18129 deleted the old shared
    ``anonymous`` scope's rows); ``fingerprint`` the digest of the request's method, path and
    body; ``status``/``headers``/``body`` the stored answer (``headers`` a JSON
    list of name/value pairs); ``expires_at`` a Unix time in seconds.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    # 64 bits: a Unix time past January 2038 does not fit in 32.
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
