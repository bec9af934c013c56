"""The notification email job: ``deliver_notification_email(notification_id)``.

The job takes only the id and reads the rest when it runs. RQ 3 runs an ``async def`` job with
``asyncio.run``, a fresh event loop per job, so the job opens its own engine without a pool and
disposes of it before the loop closes. It skips (and succeeds) when the notification is gone, the
recipient is deactivated, or the task is deleted or no longer theirs to read (jobs/notices.py). Any
SMTP failure raises, and RQ retries by the job's policy (jobs/queues.py); the Message-ID stays the
same on every attempt.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from jobs.notices import Notice, load_notice
from jobs.queues import job_settings, read_once
from jobs.templates import build_message
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.email")

SENT = "sent"
SKIPPED = "skipped"
# The receiving server refused every recipient for good (5xx at RCPT): retrying cannot help.
REJECTED = "rejected"


async def deliver_notification_email(notification_id: int) -> str:
    """Sends one notification's email; ``"sent"``, ``"skipped"`` or ``"rejected"`` (the job's result)."""
    settings = job_settings()
    email = await read_once(settings, lambda conn: load_notice(conn, notification_id))
    if email is None:
        log.info("notification %d: no email (gone, recipient deactivated or task deleted)", notification_id)
        return SKIPPED
    # Blocking, but on this job's own event loop (nothing else runs on it).
    return send_email(settings, email)


def send_email(settings: Settings, email: Notice) -> str:
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
