"""The notification email job: ``deliver_notification_email(notification_id)``.

The job takes only the id and reads the rest when it runs. RQ 3 runs an ``async def`` job with
``asyncio.run``, a fresh event loop per job, so the job opens its own engine without a pool and
disposes of it before the loop closes. It skips (and succeeds) when the notification is gone, the
recipient is deactivated, or the task is deleted or no longer theirs to read. Any SMTP failure
raises, and RQ retries by the job's policy (jobs/queues.py); the Message-ID stays the same on every
attempt.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from jobs.queues import job_settings, read_once
from jobs.templates import NotificationEmail, build_message
from persistence.models import Comment, Notification, NotificationKind, Project, Task, User
from persistence.queries.reminders import may_read_task
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.email")

SENT = "sent"
SKIPPED = "skipped"
# The receiving server refused every recipient for good (5xx at RCPT): retrying cannot help.
REJECTED = "rejected"


async def deliver_notification_email(notification_id: int) -> str:
    """Sends one notification's email; ``"sent"``, ``"skipped"`` or ``"rejected"`` (the job's result)."""
    settings = job_settings()
    email = await read_once(settings, lambda conn: load_notification_email(conn, notification_id))
    if email is None:
        log.info("notification %d: no email (gone, recipient deactivated or task deleted)", notification_id)
        return SKIPPED
    # Blocking, but on this job's own event loop (nothing else runs on it).
    return send_email(settings, email)


async def load_notification_email(conn: AsyncConnection, notification_id: int) -> NotificationEmail | None:
    """The notification with its recipient, actor, task, project and (a mention's live) comment."""
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
    statement = (
        select(
            n.c.id,
            n.c.event_id,
            n.c.kind,
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
        .where(n.c.id == notification_id)
    )
    row = (await conn.execute(statement)).one_or_none()
    if (
        row is None
        or row.recipient_deactivated_at is not None
        or row.task_deleted_at is not None
        or not row.may_read
    ):
        return None
    return NotificationEmail(
        notification_id=row.id,
        event_id=row.event_id,
        kind=NotificationKind(row.kind),
        recipient_id=row.recipient_id,
        recipient_email=row.recipient_email,
        recipient_name=row.recipient_name,
        actor_name=row.actor_name or "Someone",
        task_title=row.title,
        project_name=row.project_name,
        comment_body=row.comment_body,
    )


def send_email(settings: Settings, email: NotificationEmail) -> str:
    return send_message(settings, build_message(email, settings.smtp_from))


def send_message(settings: Settings, message: EmailMessage) -> str:
    """``SENT``, or ``REJECTED`` when the server refuses every recipient permanently (a 5xx such as
    "no such user"): the job then ends without retries. Anything else that fails raises, and RQ
    retries: a 4xx, a refused connection, and also a 5xx before the recipients (an authentication
    or sender problem is the deployment's to fix, and must stay visible in the failed registry)."""
    try:
        _send(settings, message)
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _ in refused.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            log.warning("email %s refused for good: %s", message["Message-ID"], refused.recipients)
            return REJECTED
        raise
    return SENT


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(message)
