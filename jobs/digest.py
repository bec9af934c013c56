"""The weekly digest: the scan ``enqueue_weekly_digests()`` (on ``digest_cron``) and the email job
``deliver_weekly_digest(user_id, week)``.

The scan walks the active users in batches keyed on their id and enqueues one job per user and ISO
week, ``email-digest-<user>-<YYYY>-W<ww>``, with ``unique=True``: a second run in the same week (another
scheduler, a restart) sends nothing twice. The job reads the user's week when it runs and sends nothing
to a user with nothing to report. Digests go to the ``default`` queue, behind notification emails.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

from jobs.email import SKIPPED, send_message
from jobs.email_text import render, render_html
from jobs.queues import DEFAULT, connect, enqueue_once, job_settings, queue, read_once, with_database
from jobs.templates import compose, stable_message_id
from persistence.db import Database
from persistence.models.base import utcnow
from persistence.queries.reminders import Digest, active_user_ids, digest_for
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.email")

WEEK_SECONDS = 7 * 24 * 3600


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> datetime:
    """Monday 00:00 UTC of an ISO week such as ``2026-W48``."""
    year, number = week.split("-W")
    return datetime.combine(date.fromisocalendar(int(year), int(number), 1), time.min, tzinfo=UTC)


def digest_job_id(user_id: int, week: str) -> str:
    return f"email-digest-{user_id}-{week}"


async def enqueue_weekly_digests() -> int:
    """The scan job: how many digest jobs it enqueued for this week."""
    settings = job_settings()
    return await with_database(settings, lambda db: enqueue_digests(db, settings, iso_week(utcnow().date())))


async def enqueue_digests(db: Database, settings: Settings, week: str) -> int:
    enqueued, after = 0, 0
    with connect(settings) as connection:
        into = queue(DEFAULT, connection)
        while True:
            async with db.read() as conn:
                user_ids = await active_user_ids(conn, after_id=after, limit=settings.scan_batch_size)
            for user_id in user_ids:
                enqueued += enqueue_once(
                    into,
                    deliver_weekly_digest,
                    (user_id, week),
                    job_id=digest_job_id(user_id, week),
                    settings=settings,
                    # Past the week, so the same week's id is refused until it is over.
                    keep_seconds=max(WEEK_SECONDS, settings.job_dedup_ttl_seconds),
                    description=f"weekly digest {week} for user {user_id}",
                )
            if len(user_ids) < settings.scan_batch_size:
                return enqueued
            after = user_ids[-1]


async def deliver_weekly_digest(user_id: int, week: str) -> str:
    """Sends the user's digest for the week; skipped for a deactivated user or an empty week."""
    settings = job_settings()
    start, today = week_start(week), utcnow().date()
    since = start - timedelta(days=7)
    digest = await read_once(
        settings,
        lambda conn: digest_for(conn, user_id, today=today, completed_since=since, completed_before=start),
    )
    if digest is None or digest.is_empty:
        log.info("weekly digest %s for user %d: nothing to send", week, user_id)
        return SKIPPED
    return send_message(settings, build_digest_message(user_id, week, digest, settings.smtp_from))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def build_digest_message(user_id: int, week: str, digest: Digest, sender: str) -> EmailMessage:
    words = {
        "name": digest.name,
        "week": week,
        "open": _plural(digest.open_count, "open task"),
        "overdue": str(digest.overdue_count),
        "completed": _plural(digest.completed_count, "task"),
        "unread": _plural(digest.unread_count, "unread notification"),
    }
    return compose(
        subject=render("digest.subject", words),
        sender=sender,
        to_name=digest.name,
        to_email=digest.email,
        message_id=stable_message_id(f"digest.{user_id}.{week}", sender),
        text=_body("txt", digest, words),
        html_body=_body("html", digest, words),
    )


def _body(kind: str, digest: Digest, words: dict[str, str]) -> str:
    """The ``txt`` or ``html`` body: the counts, the listed open tasks under their header (none when
    none is listed), and how many open tasks the list leaves out."""
    fill = render_html if kind == "html" else render
    tasks = "".join(
        fill(f"digest_task_due.{kind}", {"title": title, "due": due.isoformat()})
        if due
        else fill(f"digest_task.{kind}", {"title": title})
        for title, due in digest.titles
    )
    more = digest.open_count - len(digest.titles)
    fragments = {
        "open_tasks": fill(f"digest_open_tasks.{kind}", {}, {"tasks": tasks}) if tasks else "",
        "more": fill(f"digest_more.{kind}", {"more": str(more)}) if more > 0 else "",
    }
    return fill(f"digest.{kind}", words, fragments)
