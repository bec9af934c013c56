"""The notification email job: ``deliver_notification_email(notification_id)``.

The job takes only the id and reads the rest when it runs (``read_once``: the worker's pooled engine, or
an engine of its own where each job gets a fresh event loop). It skips (and succeeds) when the
notification is gone, the recipient is deactivated, or the task is deleted or no longer theirs to read
(jobs/notices.py). Any SMTP failure raises, and RQ retries by the job's policy (jobs/queues.py); the
Message-ID stays the same on every attempt.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage

from jobs.links import task_link
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
    message = build_message(email, task_link(settings, email.task_id), settings.smtp_from)
    return send_message(settings, message)


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
    if settings.email_transport == "log":
        log.info("email %s to %s: %s (not sent: TASKQL_EMAIL_TRANSPORT=log)", message["Message-ID"],
                 message["To"], message["Subject"])  # fmt: skip
        return
    _connection.send(settings, message)


class SmtpConnection:
    """The process's one SMTP connection, kept open between jobs: a connection costs a TCP handshake,
    the greeting, EHLO (and STARTTLS, login) and QUIT, more than the message itself (the job bench
    measured ~20% of a worker's time). Jobs run one at a time per worker; the lock covers the embedded
    runner's thread all the same.

    After a refusal smtplib has reset the transaction (RSET), so the connection stays. A reused
    connection the server has dropped meanwhile (its idle timeout) is replaced and the message sent on
    a new one; any other failure closes it and raises, and the job's retry opens a fresh one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._smtp: smtplib.SMTP | None = None
        self._for: tuple[str, int, bool, str | None] | None = None

    def send(self, settings: Settings, message: EmailMessage) -> None:
        target = (settings.smtp_host, settings.smtp_port, settings.smtp_starttls, settings.smtp_username)
        with self._lock:
            if self._smtp is not None and self._for != target:
                self._close()
            reused = self._smtp is not None
            try:
                self._open(settings, target).send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
                raise
            except (smtplib.SMTPServerDisconnected, OSError):
                self._close()
                if not reused:
                    raise
                self._open(settings, target).send_message(message)
            except BaseException:
                self._close()
                raise

    def close(self) -> None:
        """Ends the connection (a stopping worker); the next email opens a new one."""
        with self._lock:
            self._close()

    def _open(self, settings: Settings, target: tuple[str, int, bool, str | None]) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
            try:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_username:
                    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                    smtp.login(settings.smtp_username, password)
            except BaseException:
                smtp.close()
                raise
            self._smtp, self._for = smtp, target
        return self._smtp

    def _close(self) -> None:
        smtp, self._smtp, self._for = self._smtp, None, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


_connection = SmtpConnection()


def close_smtp_connection() -> None:
    _connection.close()
