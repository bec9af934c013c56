from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, Id, UtcDateTime, utcnow


class Event(Base):
    """One row is both the activity log entry users read and the outbox entry the relay publishes."""

    __tablename__ = "events"
    __table_args__ = (
        Index(None, "task_id", "id"),
        Index(None, "project_id", "sequence", unique=True),
        Index(None, "organization_id", "id"),
        # The relay's sweep looks for what is still unpublished, oldest first.
        Index(None, "published_at", "id"),
        # A mutation's Idempotency-Key rides on its event: the unique index is what refuses a
        # second execution, in the same transaction as the first one's writes.
        Index(None, "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    type: Mapped[str] = mapped_column(String(64))
    # Per-project sequence, so a subscriber can see a gap; null for organization-level events.
    sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # "<principal>:<sha256 of the client's key>"; null for events written without a key.
    idempotency_key: Mapped[str | None] = mapped_column(String(160), nullable=True)
