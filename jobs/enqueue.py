"""Enqueuing jobs after a commit: one job per notification and channel and one per webhook delivery
(the relay's hooks), per password reset and per invitation (scheduled by their mutations), per
webhook test ping or redelivery (their mutations), never twice.

The job id is deterministic (``email-notification-<id>``, ``push-notification-<id>``, ``email-password-
reset-<id>``, ``email-invitation-<id>``, ``webhook-delivery-<id>``; RQ allows letters, digits, ``_``,
``-``) and enqueued with RQ's ``unique=True``: one Lua script checks that no job of that id exists,
saves it and pushes it, atomically. Without it RQ would overwrite the job's hash and push the id a
second time (two runs). A finished job's hash is kept ``job_dedup_ttl_seconds`` (a failed one for as
long), so a re-derivation within that window (the relay's sweep after a crash) is refused too; later,
the delivery's stable id (Message-ID, push delivery id) lets the receiver drop it. RQ's enqueue is
synchronous (~0.7 ms each): a batch goes to a thread as one call (``unique=True`` runs its script per
job, so there is no pipeline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import redis
from rq.exceptions import DuplicateJobError

from jobs.email import deliver_notification_email
from jobs.invitations import deliver_invitation_email
from jobs.password_reset import deliver_password_reset_email
from jobs.push import deliver_notification_push
from jobs.queues import (
    DEFAULT,
    EMAIL_RETRY,
    HIGH,
    LOW,
    PUSH_RETRY,
    REPORT_RETRY,
    WEBHOOK_RETRY,
    RetryPolicy,
    connect,
    queue,
)
from jobs.reports import build_report
from jobs.tracing import traced_meta
from jobs.webhooks import deliver_webhook
from persistence.redis_breaker import BreakerView
from persistence.relay import CommittedBatch
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs")
T = TypeVar("T")


@dataclass(frozen=True)
class JobKind:
    """One kind of job about one row: its body, the prefix of its deterministic id, its retries."""

    function: Callable[[int], Awaitable[str]]
    prefix: str
    retry: RetryPolicy
    description: str
    # High: what a user waits for (email, push); default: webhooks; low: reports (and the periodic jobs).
    queue: str = HIGH
    # The retry policy's base wait (push retries sooner than email, reports wait a fixed delay).
    backoff_base_seconds: Callable[[Settings], float] = lambda settings: settings.job_backoff_base_seconds
    timeout_seconds: Callable[[Settings], int] = lambda settings: settings.job_timeout_seconds

    def job_id(self, object_id: int) -> str:
        return f"{self.prefix}-{object_id}"


NOTIFICATION_EMAIL = JobKind(
    deliver_notification_email, "email-notification", EMAIL_RETRY, "notification email"
)
NOTIFICATION_PUSH = JobKind(
    deliver_notification_push,
    "push-notification",
    PUSH_RETRY,
    "notification push",
    backoff_base_seconds=lambda settings: settings.push_backoff_base_seconds,
)
PASSWORD_RESET_EMAIL = JobKind(
    deliver_password_reset_email, "email-password-reset", EMAIL_RETRY, "password reset email"
)
INVITATION_EMAIL = JobKind(deliver_invitation_email, "email-invitation", EMAIL_RETRY, "invitation email")
WEBHOOK_DELIVERY = JobKind(
    deliver_webhook, "webhook-delivery", WEBHOOK_RETRY, "webhook delivery", queue=DEFAULT
)
# The seed's longest report takes 2 min: its job may run that long whatever the general limit.
REPORT_TIMEOUT_SECONDS = 120
REPORT = JobKind(
    build_report,
    "report",
    REPORT_RETRY,
    "report",
    queue=LOW,
    backoff_base_seconds=lambda settings: settings.report_retry_delay_seconds,
    timeout_seconds=lambda settings: max(REPORT_TIMEOUT_SECONDS, settings.job_timeout_seconds),
)


class Enqueuer:
    """Enqueues jobs of any kind, each on its kind's queue. ``breaker``: the server process's Redis
    breaker, which the asynchronous enqueues (``off_loop``) heed; a worker or a command has none."""

    def __init__(
        self, settings: Settings, connection: redis.Redis | None = None, breaker: BreakerView | None = None
    ) -> None:
        self.settings = settings
        self.connection = connection or connect(settings)
        self.breaker = breaker
        self._queues = {name: queue(name, self.connection) for name in (HIGH, DEFAULT, LOW)}

    async def off_loop(self, enqueue: Callable[[], T]) -> T:
        """Runs ``enqueue`` in a thread (RQ is synchronous). While the breaker is open it fails at once,
        as a failed enqueue would after its timeout: the caller's fallback is the same."""
        if self.breaker is not None and not self.breaker.allows():
            raise redis.ConnectionError("Redis is unavailable (the process's Redis breaker is open)")
        try:
            result = await asyncio.to_thread(enqueue)
        except (redis.RedisError, OSError):
            if self.breaker is not None:
                self.breaker.record_failure()
            raise
        if self.breaker is not None:
            self.breaker.record_success()
        return result

    def enqueue(self, kind: JobKind, object_id: int, job_id: str | None = None) -> bool:
        """Whether a job was enqueued (False: one of that id exists already). Redis errors raise.
        ``job_id``: another deterministic id than the kind's (a webhook redelivery's)."""
        job_id = job_id or kind.job_id(object_id)
        try:
            self._queues[kind.queue].enqueue_call(
                kind.function,
                args=(object_id,),
                job_id=job_id,
                unique=True,
                retry=kind.retry.retry(kind.backoff_base_seconds(self.settings)),
                timeout=kind.timeout_seconds(self.settings),
                result_ttl=self.settings.job_dedup_ttl_seconds,
                failure_ttl=self.settings.job_dedup_ttl_seconds,
                description=f"{kind.description} {object_id}",
                meta=traced_meta(),
            )
        except DuplicateJobError:
            log.debug("%s job %s exists already", kind.description, job_id)
            return False
        return True


class NotificationJobs(Enqueuer):
    """A relay ``on_committed`` hook: one job of ``kind`` per committed notification."""

    kind: JobKind

    async def __call__(self, batch: CommittedBatch) -> None:
        ids = [int(notification.id) for notification in batch.notifications]
        if ids:
            await self.off_loop(lambda: self.enqueue_all(ids))

    def enqueue_all(self, notification_ids: Iterable[int]) -> int:
        """Enqueues a job per id that has none yet; how many were enqueued. Redis errors raise."""
        return sum(
            self.enqueue(self.kind, notification_id) for notification_id in dict.fromkeys(notification_ids)
        )


class NotificationEmails(NotificationJobs):
    kind = NOTIFICATION_EMAIL


class NotificationPushes(NotificationJobs):
    """Wired only when ``TASKQL_PUSH_GATEWAY_URL`` is set (without it the job would only skip)."""

    kind = NOTIFICATION_PUSH


class ScheduledEmails(Enqueuer):
    """Enqueues the email a mutation's commit calls for (a password reset, an invitation).

    ``schedule`` returns at once and enqueues in a background task: the request answers without
    waiting for Redis (so a known email in ``passwordResetRequest`` does not answer measurably later
    than an unknown one, which enqueues nothing). A failed enqueue is logged; the user asks again."""

    def __init__(
        self, settings: Settings, connection: redis.Redis | None = None, breaker: BreakerView | None = None
    ) -> None:
        super().__init__(settings, connection, breaker)
        self._pending: set[asyncio.Task[None]] = set()

    def schedule(self, kind: JobKind, object_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self._enqueue_logged(kind, object_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Waits for the enqueues scheduled so far (a stopping server, a test)."""
        while self._pending:
            await asyncio.gather(*self._pending)

    async def _enqueue_logged(self, kind: JobKind, object_id: int) -> None:
        try:
            await self.off_loop(lambda: self.enqueue(kind, object_id))
        except Exception:
            log.exception("could not enqueue the %s %d", kind.description, object_id)


def webhook_job_id(delivery_id: int, redelivery: int = 0) -> str:
    """A redelivery is a job of its own (the first one's id is kept while its hash lives), about the
    same delivery: the receiver sees the same delivery id and can drop it if it had it already."""
    job_id = WEBHOOK_DELIVERY.job_id(delivery_id)
    return job_id if redelivery == 0 else f"{job_id}-redeliver-{redelivery}"


class WebhookDeliveries(Enqueuer):
    """The relay's ``on_committed`` hook: enqueues the batch's webhook deliveries on ``default``; the
    webhook mutations enqueue test pings and redeliveries through ``enqueue_deliveries`` too."""

    async def __call__(self, batch: CommittedBatch) -> None:
        ids = [int(delivery.id) for delivery in batch.webhook_deliveries]
        if ids:
            await self.off_loop(lambda: self.enqueue_deliveries(ids))

    def enqueue_deliveries(self, delivery_ids: Iterable[int], redelivery: int = 0) -> int:
        """Enqueues a job per id that has none yet; how many were enqueued. Redis errors raise."""
        return sum(
            self.enqueue(WEBHOOK_DELIVERY, delivery_id, webhook_job_id(delivery_id, redelivery))
            for delivery_id in dict.fromkeys(delivery_ids)
        )


def report_job_id(report_id: int) -> str:
    return REPORT.job_id(report_id)


class ReportJobs(Enqueuer):
    """Enqueues a report's job on ``low`` right after ``reportRequest`` commits (the answer waits for
    it, off the event loop). A failed enqueue is logged and the report stays ``queued`` (no sweep
    enqueues it later yet)."""

    async def submit(self, report_id: int) -> bool:
        """Whether a job was enqueued now; False when it existed already or Redis failed (logged)."""
        try:
            return await self.off_loop(lambda: self.enqueue(REPORT, report_id))
        except Exception:
            log.exception("could not enqueue the job of report %d; it stays queued", report_id)
            return False
