from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import NotificationKind
from persistence.models.base import Base, Id, UtcDateTime, utcnow


class Notification(Base):
    """One user's notice of one event, derived by the relay when it publishes the event.

    Only the event and the recipient are foreign keys. The organization, task, comment and actor are
    copies of what the event row names (its own keys hold them; tasks and comments are never
    deleted, only marked), so the relay's insert takes no lock on a task or comment row that a writer
    may be holding while it waits for the relay's lock on the events table.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # Deriving an event twice (at-least-once relay, a sweep after a crash) inserts once.
        UniqueConstraint("event_id", "user_id"),
        # The viewer's connection, newest first; and its unread filter, count and "mark all read".
        Index(None, "user_id", "id"),
        Index(None, "user_id", "read_at", "id"),
        # The relay's sweep for notifications whose jobs were never confirmed enqueued.
        Index(None, "jobs_enqueued_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(Id)
    # The recipient.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    task_id: Mapped[int] = mapped_column(Id)
    # The comment that mentions the recipient; null for an assignment.
    comment_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # When every job about it (email, push) was enqueued; null until the relay's hooks all took it.
    jobs_enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
