"""The periodic jobs and the RQ cron scheduler that enqueues them (``python -m jobs.cron``, started by
``make worker``; the embedded runner calls ``enqueue_jobs`` on every poll instead).

RQ's own ``CronJob`` enqueues with the default (pickle) serializer, under a random id, and reads cron
expressions in the host's local time. ``PeriodicJob`` changes three things:

- it enqueues through our JSON queues (what the workers read);
- each run is named after its period, ``cron-<name>-<epoch of the period's start>``, and enqueued with
  ``unique=True`` while the finished job is kept at least a period: any number of schedulers (one per
  worker host, a restarted one) enqueue a period's run once, and the others are refused;
- periods are fixed in UTC: an interval's slots are multiples of it since the epoch (not counted from
  whenever a scheduler started, which would differ between hosts), cron expressions are read in UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
from croniter import croniter
from rq.cron import CronJob
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now

from jobs.cleanup import run_cleanup
from jobs.digest import enqueue_weekly_digests
from jobs.due_soon import scan_due_soon
from jobs.queues import DEFAULT, LOW, queue
from jobs.rq_adapters import StoppableCronScheduler
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.cron")


class PeriodicJob(CronJob):
    def __init__(
        self,
        name: str,
        func: Callable[..., object],
        queue_name: str,
        *,
        timeout: int,
        interval: int | None = None,
        cron: str | None = None,
    ) -> None:
        super().__init__(queue_name=queue_name, func=func, interval=interval, cron=cron, name=name)
        self.timeout = timeout
        self.run = func

    def _expression(self) -> str:
        if self.cron is None:
            raise ValueError(f"{self.name} has neither an interval nor a cron expression")
        return self.cron

    def slot(self, moment: datetime) -> datetime:
        """The start of the period ``moment`` falls in."""
        if self.interval:
            epoch = int(moment.timestamp())
            return datetime.fromtimestamp(epoch - epoch % self.interval, UTC)
        # get_prev is strictly before its base: a moment exactly on a tick is that tick's period.
        base = moment.astimezone(UTC) + timedelta(microseconds=1)
        previous: datetime = croniter(self._expression(), base).get_prev(datetime)
        return previous

    def period_seconds(self, slot: datetime) -> int:
        if self.interval:
            return self.interval
        following: datetime = croniter(self._expression(), slot).get_next(datetime)
        return int((following - slot).total_seconds())

    def get_next_enqueue_time(self) -> datetime:
        """The next period's start, after the last enqueue (or now)."""
        base = self.latest_enqueue_time or now()
        if self.interval:
            return self.slot(base) + timedelta(seconds=self.interval)
        following: datetime = croniter(self._expression(), base.astimezone(UTC)).get_next(datetime)
        return following

    def job_id(self, slot: datetime) -> str:
        return f"cron-{self.name}-{int(slot.timestamp())}"

    def enqueue(self, connection: redis.Redis) -> Job:
        """Enqueues this period's run, or returns the one another scheduler enqueued already."""
        slot = self.slot(now())
        job_id = self.job_id(slot)
        # Kept past its period (at least a minute): a scheduler started later in the period is refused.
        keep = max(2 * self.period_seconds(slot), 60)
        try:
            job = queue(self.queue_name, connection).enqueue_call(
                self.run,
                job_id=job_id,
                unique=True,
                timeout=self.timeout,
                result_ttl=keep,
                failure_ttl=keep,
                description=f"{self.name} for the period from {slot.isoformat()}",
            )
        except DuplicateJobError:
            log.info("%s exists already (another scheduler enqueued it)", job_id)
            return Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        log.info("enqueued %s", job_id)
        return job


class Schedule(StoppableCronScheduler):
    """A cron scheduler over ``PeriodicJob``s (RQ's ``register`` would make plain ``CronJob``s)."""

    def add(self, job: PeriodicJob) -> None:
        self._cron_jobs.append(job)


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    """Every scheduled job, with its period from the settings."""
    timeout = settings.job_timeout_seconds
    # Cleanup works through its bounded batches; it may take the seed's five minutes.
    cleanup_timeout = max(timeout, 300)
    return [
        PeriodicJob(
            "due-soon-scan",
            scan_due_soon,
            DEFAULT,
            timeout=timeout,
            interval=settings.due_soon_scan_interval_seconds,
        ),
        PeriodicJob(
            "weekly-digest", enqueue_weekly_digests, DEFAULT, timeout=timeout, cron=settings.digest_cron
        ),
        PeriodicJob("cleanup", run_cleanup, LOW, timeout=cleanup_timeout, cron=settings.cleanup_cron),
    ]


def build_schedule(settings: Settings, connection: redis.Redis) -> Schedule:
    schedule = Schedule(connection=connection, logging_level=logging.WARNING)
    for job in periodic_jobs(settings):
        schedule.add(job)
    return schedule
