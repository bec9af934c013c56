"""What a subscriber resumes from: a project's committed events after a sequence, and a user's
notifications after an id, oldest first.

Each read is one statement on an index (events: project and sequence; notifications: user and id)
and takes at most ``limit`` rows: the caller asks for one more than it will replay, so it can tell
"this is all of it" from "more than a replay carries".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Event, Notification
from persistence.queries.events import project_head
from persistence.queries.rows import AnyRow

_events = Event.__table__
_notifications = Notification.__table__

# What a replayed event needs to become the message the relay would have published.
LOGGED_EVENT_FIELDS = (
    "id",
    "organization_id",
    "project_id",
    "task_id",
    "actor_id",
    "type",
    "sequence",
    "payload",
    "created_at",
)
LOGGED_NOTIFICATION_FIELDS = (
    "id",
    "user_id",
    "kind",
    "task_id",
    "event_id",
    "comment_id",
    "actor_id",
    "created_at",
)


async def project_events_after(
    conn: AsyncConnection, project_id: int, after: int, *, before: int | None = None, limit: int
) -> Sequence[AnyRow]:
    """The project's events with ``after < sequence < before`` (no upper bound when None), in order."""
    statement = (
        select(*[_events.c[name] for name in LOGGED_EVENT_FIELDS])
        .where(_events.c.project_id == project_id, _events.c.sequence > after)
        .order_by(_events.c.sequence)
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(_events.c.sequence < before)
    return (await conn.execute(statement)).all()


async def project_event_head(conn: AsyncConnection, project_id: int) -> int:
    """The project's highest sequence handed out, its purged events' included; 0 before its first."""
    head = await conn.scalar(select(project_head(conn.dialect.name, literal(project_id))))
    return int(head or 0)


async def notifications_after(
    conn: AsyncConnection, user_id: int, after: int, *, limit: int
) -> Sequence[AnyRow]:
    """The user's notifications with an id above ``after``, in id order."""
    statement = (
        select(*[_notifications.c[name] for name in LOGGED_NOTIFICATION_FIELDS])
        .where(_notifications.c.user_id == user_id, _notifications.c.id > after)
        .order_by(_notifications.c.id)
        .limit(limit)
    )
    return (await conn.execute(statement)).all()


@dataclass(frozen=True)
class NotificationAnchor:
    """Where a resuming subscriber's last notification stands."""

    # The highest notification id of anyone: an anchor above it is ahead of every notification.
    head: int
    # When the anchor was made, if it is the user's and still kept; None otherwise.
    created_at: datetime | None
    # The user's own highest notification id (0 without any).
    user_head: int


async def notification_anchor(
    conn: AsyncConnection, user_id: int, notification_id: int
) -> NotificationAnchor:
    """One statement: the global and the user's heads, and the anchor's creation time."""
    mine = _notifications.c.user_id == user_id
    statement = select(
        select(func.max(_notifications.c.id)).scalar_subquery(),
        select(_notifications.c.created_at)
        .where(mine, _notifications.c.id == notification_id)
        .scalar_subquery(),
        select(func.max(_notifications.c.id)).where(mine).scalar_subquery(),
    )
    head, created_at, user_head = (await conn.execute(statement)).one()
    return NotificationAnchor(int(head or 0), created_at, int(user_head or 0))


async def user_notification_head(conn: AsyncConnection, user_id: int) -> int:
    """The user's highest notification id; 0 without any."""
    head = await conn.scalar(select(func.max(_notifications.c.id)).where(_notifications.c.user_id == user_id))
    return int(head or 0)
