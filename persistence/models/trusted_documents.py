"""Trusted documents: the registered operations API-key clients may run, by id or by sha256.

Immutable once registered: the same id always names the same body, so every copy of a row (a
process's memory, a client's manifest) stays right for ever.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, Id, UtcDateTime, utcnow


class TrustedDocument(Base):
    __tablename__ = "trusted_documents"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(200), unique=True)
    # Hex sha256 of the body's UTF-8 text exactly as registered.
    # Not unique: two clients may ship the same operation under their own ids.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The operation's name; null for an anonymous operation.
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    client_name: Mapped[str] = mapped_column(String(100))
    # query, mutation or subscription.
    operation_type: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    # The operation's cost at registration (schema/guard/cost.py), for the key's budget without re-walking it.
    cost: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
