"""Due-soon emails: the scan ``scan_due_soon()`` (every ``due_soon_scan_interval_seconds``) and the email
job ``deliver_due_soon_email(task_id, assignee_id, due_epoch)``.

A task is due at the end of its due date (UTC). The scan finds open tasks due within
``due_soon_window_seconds`` whose assignee is active and may read them, in batches keyed on the task id,
and enqueues one job per (task, assignee, due moment) as ``email-due-soon-<task>-<assignee>-<epoch>``
with ``unique=True``. The id is kept longer than the window, so later scans never email twice, while a
new due date (a new epoch) emails again. The job checks it all again when it runs (the task may have
been done, moved or reassigned since) and its Message-ID is made of the same three values.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

from jobs.email import SKIPPED, send_message
from jobs.email_text import render, render_html
from jobs.links import task_link
from jobs.queues import HIGH, connect, enqueue_once, job_settings, queue, read_once, with_database
from jobs.templates import compose, stable_message_id
from persistence.db import Database
from persistence.models.base import utcnow
from persistence.queries.reminders import due_soon_assignments, due_soon_email
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.email")


def due_moment(due_date: date) -> datetime:
    """The end of the due date, UTC."""
    return datetime.combine(due_date + timedelta(days=1), time.min, tzinfo=UTC)


def due_soon_job_id(task_id: int, assignee_id: int, due_epoch: int) -> str:
    return f"email-due-soon-{task_id}-{assignee_id}-{due_epoch}"


def due_soon_message_id(task_id: int, assignee_id: int, due_epoch: int, sender: str) -> str:
    return stable_message_id(f"due-soon.{task_id}.{assignee_id}.{due_epoch}", sender)


async def scan_due_soon() -> int:
    """The scan job: how many emails it enqueued (those enqueued by earlier scans are not counted)."""
    settings = job_settings()
    return await with_database(settings, lambda db: enqueue_due_soon(db, settings, utcnow()))


async def enqueue_due_soon(db: Database, settings: Settings, now: datetime) -> int:
    # Due moments in (now, now + window]: due dates from today to the day that ends by then.
    first_day = now.date()
    last_day = (now + timedelta(seconds=settings.due_soon_window_seconds) - timedelta(days=1)).date()
    if last_day < first_day:
        return 0
    # A job id must refuse its email again for as long as the task can still show up in a scan.
    keep = settings.due_soon_window_seconds + settings.job_dedup_ttl_seconds
    enqueued, after = 0, 0
    with connect(settings) as connection:
        into = queue(HIGH, connection)
        while True:
            async with db.read() as conn:
                rows = await due_soon_assignments(
                    conn,
                    first_day=first_day,
                    last_day=last_day,
                    after_id=after,
                    limit=settings.scan_batch_size,
                )
            for row in rows:
                epoch = int(due_moment(row.due_date).timestamp())
                args = (row.task_id, row.assignee_id, epoch)
                enqueued += enqueue_once(
                    into,
                    deliver_due_soon_email,
                    args,
                    job_id=due_soon_job_id(*args),
                    settings=settings,
                    keep_seconds=keep,
                    description=f"due-soon email for task {row.task_id}",
                )
            if len(rows) < settings.scan_batch_size:
                return enqueued
            after = rows[-1].task_id


async def deliver_due_soon_email(task_id: int, assignee_id: int, due_epoch: int) -> str:
    """Sends the email; skipped when the task is done, deleted, reassigned, moved to another due date
    or no longer the assignee's to read, or the assignee is deactivated."""
    settings = job_settings()
    row = await read_once(settings, lambda conn: due_soon_email(conn, task_id, assignee_id))
    if row is None or row.due_date is None or int(due_moment(row.due_date).timestamp()) != due_epoch:
        log.info("due-soon email for task %d: no longer due then, or not the assignee's", task_id)
        return SKIPPED
    message = build_due_soon_message(
        task_id=task_id,
        assignee_id=assignee_id,
        due_epoch=due_epoch,
        email=row.email,
        name=row.name,
        title=row.title,
        project=row.project_name,
        due_date=row.due_date,
        today=utcnow().date(),
        link=task_link(settings, task_id),
        sender=settings.smtp_from,
    )
    return send_message(settings, message)


def build_due_soon_message(
    *,
    task_id: int,
    assignee_id: int,
    due_epoch: int,
    email: str,
    name: str,
    title: str,
    project: str,
    due_date: date,
    today: date,
    link: str,
    sender: str,
) -> EmailMessage:
    when = "today" if due_date <= today else "tomorrow" if due_date == today + timedelta(days=1) else "soon"
    words = {
        "name": name,
        "title": title,
        "project": project,
        "when": when,
        "due": due_date.isoformat(),
        "link": link,
    }
    return compose(
        subject=render("due_soon.subject", words),
        sender=sender,
        to_name=name,
        to_email=email,
        message_id=due_soon_message_id(task_id, assignee_id, due_epoch, sender),
        text=render("due_soon.txt", words),
        html_body=render_html("due_soon.html", words),
    )
