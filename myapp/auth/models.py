"""The login throttle's table."""

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base


class LoginAttempts(Base):
    """Login attempts counted per account or client address in a fixed window.

    ``key`` is ``account:<lookup_key(email)>`` (myapp.users.models) or ``address:<ip>``;
    ``window_start`` is a Unix time in seconds. Kept in the database so that
    every process and host counts the same attempts (myapp.auth.throttle).
    """

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    # 64 bits: a Unix time past January 2038 does not fit in 32.
    window_start: Mapped[int] = mapped_column(BigInteger, index=True)
