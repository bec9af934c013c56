"""API keys: how third parties authenticate (`X-Api-Key: tq_<prefix>_<secret>`).

The prefix is public and finds the row; only the sha256 of the secret is stored. A key's secret is 32
random bytes, so a fast hash is enough (nothing to brute-force) and keeps the per-request check cheap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import ApiKeyScope
from persistence.models.base import Base, Id, UtcDateTime, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"
    # The organization's keys, oldest first (apiKeys).
    __table_args__ = (Index(None, "organization_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    # The key acts as this user: their organization role decides what it sees.
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[ApiKeyScope] = mapped_column(
        Enum(ApiKeyScope, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
