"""What a notification tells its recipient, read by the job that delivers it (email or push).

Each delivery job reads it when it runs, not when the notification was made, and delivers nothing when
the notification is gone, the recipient deactivated, or the task deleted or no longer theirs to read:
a notice sent later must not show a task its recipient was removed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import NotificationKind
from persistence.models import Comment, Notification, Project, Task, User
from persistence.queries.reminders import may_read_task


@dataclass(frozen=True)
class Notice:
    """What one notification tells its recipient (by email or push), as the job read it."""

    notification_id: int
    event_id: int
    kind: NotificationKind
    recipient_id: int
    recipient_email: str
    recipient_name: str
    actor_name: str
    task_id: int
    task_title: str
    project_name: str
    comment_body: str | None


def _notice_statement() -> Select[Any]:
    n = Notification.__table__
    recipients, actors = User.__table__.alias("recipient"), User.__table__.alias("actor")
    tasks, projects, comments = Task.__table__, Project.__table__, Comment.__table__.alias("comment")
    source = (
        n.join(recipients, recipients.c.id == n.c.user_id)
        .join(tasks, tasks.c.id == n.c.task_id)
        .join(projects, projects.c.id == tasks.c.project_id)
        .outerjoin(actors, actors.c.id == n.c.actor_id)
        .outerjoin(comments, and_(comments.c.id == n.c.comment_id, comments.c.deleted_at.is_(None)))
    )
    return (
        select(
            n.c.id,
            n.c.event_id,
            n.c.kind,
            n.c.task_id,
            recipients.c.id.label("recipient_id"),
            recipients.c.email.label("recipient_email"),
            recipients.c.name.label("recipient_name"),
            recipients.c.deactivated_at.label("recipient_deactivated_at"),
            actors.c.name.label("actor_name"),
            tasks.c.title,
            tasks.c.deleted_at.label("task_deleted_at"),
            projects.c.name.label("project_name"),
            comments.c.body.label("comment_body"),
            may_read_task(recipients, tasks).label("may_read"),
        )
        .select_from(source)
        .where(n.c.id == bindparam("notification_id"))
    )


# Built once: the aliases and joins cost about a millisecond to build, on every email and push job.
_NOTICE = _notice_statement()


async def load_notice(conn: AsyncConnection, notification_id: int) -> Notice | None:
    """The notification with its recipient, actor, task, project and (a mention's live) comment;
    None when it must not be delivered (gone, recipient deactivated, task deleted or unreadable now)."""
    row = (await conn.execute(_NOTICE, {"notification_id": notification_id})).one_or_none()
    if (
        row is None
        or row.recipient_deactivated_at is not None
        or row.task_deleted_at is not None
        or not row.may_read
    ):
        return None
    return Notice(
        notification_id=row.id,
        event_id=row.event_id,
        kind=NotificationKind(row.kind),
        recipient_id=row.recipient_id,
        recipient_email=row.recipient_email,
        recipient_name=row.recipient_name,
        actor_name=row.actor_name or "Someone",
        task_id=row.task_id,
        task_title=row.title,
        project_name=row.project_name,
        comment_body=row.comment_body,
    )
