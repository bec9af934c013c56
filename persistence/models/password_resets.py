from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, Id, UtcDateTime, utcnow


class PasswordReset(Base):
    """A password reset a user asked for by email; confirming it once sets a new password.

    The token is never stored: it is HMAC(the server's secret, ``nonce``) (jobs/password_reset.py), so
    the email job recomputes it from this row, and ``token_hash`` (its sha256) finds the row again.
    Neither the row alone nor the job in Redis (which carries only the id) yields a working token.
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Random, per reset: the HMAC's input (useless without the server's secret).
    nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set by the one confirmation that counts; a used reset admits nobody else.
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
