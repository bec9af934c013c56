"""Enqueuing jobs after a commit: one email job per notification (the relay's) or password reset, one
report job per report, never twice.

The job id is deterministic (``email-notification-<id>``; RQ allows letters, digits, ``_``, ``-``) and
enqueued with RQ's ``unique=True``: one Lua script checks that no job of that id exists, saves it and
pushes it, atomically. Without it RQ would overwrite the job's hash and push the id a second time (two
runs). A finished job's hash is kept ``job_dedup_ttl_seconds`` (a failed one for as long), so a
re-derivation within that window (the relay's sweep after a crash) is refused too; later, the email's
stable Message-ID lets the receiver drop it. RQ's enqueue is synchronous (~0.7 ms each): a batch goes
to a thread as one call (``unique=True`` runs its script per job, so there is no pipeline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import redis
from rq.exceptions import DuplicateJobError

from jobs.email import deliver_notification_email
from jobs.password_reset import deliver_password_reset_email
from jobs.queues import EMAIL_RETRY, HIGH, LOW, REPORT_RETRY, connect, queue
from jobs.reports import build_report
from persistence.relay import CommittedBatch
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs")


def email_job_id(notification_id: int) -> str:
    return f"email-notification-{notification_id}"


class NotificationEmails:
    """The relay's ``on_committed`` hook: enqueues the notifications' emails on the ``high`` queue."""

    def __init__(self, settings: Settings, connection: redis.Redis | None = None) -> None:
        self.settings = settings
        self.queue = queue(HIGH, connection or connect(settings))

    async def __call__(self, batch: CommittedBatch) -> None:
        ids = [int(notification.id) for notification in batch.notifications]
        if ids:
            await asyncio.to_thread(self.enqueue, ids)

    def enqueue(self, notification_ids: Iterable[int]) -> int:
        """Enqueues a job per id that has none yet; how many were enqueued. Redis errors raise."""
        enqueued = 0
        for notification_id in dict.fromkeys(notification_ids):
            try:
                self.queue.enqueue_call(
                    deliver_notification_email,
                    args=(notification_id,),
                    job_id=email_job_id(notification_id),
                    unique=True,
                    retry=EMAIL_RETRY.retry(self.settings.job_backoff_base_seconds),
                    timeout=self.settings.job_timeout_seconds,
                    result_ttl=self.settings.job_dedup_ttl_seconds,
                    failure_ttl=self.settings.job_dedup_ttl_seconds,
                    description=f"notification email {notification_id}",
                )
            except DuplicateJobError:
                log.debug("email job for notification %d exists already", notification_id)
                continue
            enqueued += 1
        return enqueued


def password_reset_job_id(reset_id: int) -> str:
    return f"email-password-reset-{reset_id}"


class PasswordResetEmails:
    """Enqueues a password reset's email (``passwordResetRequest``, after its commit) on ``high``.

    ``schedule`` returns at once and enqueues in a background task: the request answers without
    waiting for Redis, so a known email does not answer measurably later than an unknown one (which
    enqueues nothing). A failed enqueue is logged; the user asks again."""

    def __init__(self, settings: Settings, connection: redis.Redis | None = None) -> None:
        self.settings = settings
        self.queue = queue(HIGH, connection or connect(settings))
        self._pending: set[asyncio.Task[None]] = set()

    def schedule(self, reset_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self._enqueue_logged(reset_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Waits for the enqueues scheduled so far (a stopping server, a test)."""
        while self._pending:
            await asyncio.gather(*self._pending)

    async def _enqueue_logged(self, reset_id: int) -> None:
        try:
            await asyncio.to_thread(self.enqueue, reset_id)
        except Exception:
            log.exception("could not enqueue the email of password reset %d", reset_id)

    def enqueue(self, reset_id: int) -> bool:
        """Whether a job was enqueued (False: it exists already). Redis errors raise."""
        try:
            self.queue.enqueue_call(
                deliver_password_reset_email,
                args=(reset_id,),
                job_id=password_reset_job_id(reset_id),
                unique=True,
                retry=EMAIL_RETRY.retry(self.settings.job_backoff_base_seconds),
                timeout=self.settings.job_timeout_seconds,
                result_ttl=self.settings.job_dedup_ttl_seconds,
                failure_ttl=self.settings.job_dedup_ttl_seconds,
                description=f"password reset email {reset_id}",
            )
        except DuplicateJobError:
            return False
        return True


REPORT_TIMEOUT_SECONDS = 120


def report_job_id(report_id: int) -> str:
    return f"report-{report_id}"


class ReportJobs:
    """Enqueues a report's job on ``low`` right after ``reportRequest`` commits (the answer waits for
    it, off the event loop). A failed enqueue is logged and the report stays ``queued`` (no sweep
    enqueues it later yet)."""

    def __init__(self, settings: Settings, connection: redis.Redis | None = None) -> None:
        self.settings = settings
        self.queue = queue(LOW, connection or connect(settings))

    async def submit(self, report_id: int) -> bool:
        """Whether a job was enqueued now; False when it existed already or Redis failed (logged)."""
        try:
            return await asyncio.to_thread(self.enqueue, report_id)
        except Exception:
            log.exception("could not enqueue the job of report %d; it stays queued", report_id)
            return False

    def enqueue(self, report_id: int) -> bool:
        """Whether a job was enqueued (False: it exists already). Redis errors raise."""
        try:
            self.queue.enqueue_call(
                build_report,
                args=(report_id,),
                job_id=report_job_id(report_id),
                unique=True,
                retry=REPORT_RETRY.retry(self.settings.report_retry_delay_seconds),
                # The seed's longest report (2 min), or the general limit if that is longer.
                timeout=max(REPORT_TIMEOUT_SECONDS, self.settings.job_timeout_seconds),
                result_ttl=self.settings.job_dedup_ttl_seconds,
                failure_ttl=self.settings.job_dedup_ttl_seconds,
                description=f"report {report_id}",
            )
        except DuplicateJobError:
            return False
        return True
