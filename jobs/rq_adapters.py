"""Where RQ 3.0's non-forking worker falls short of what we need from it, the smallest fix each.

1. An abandoned job (its worker died mid-job) is found only when its entry in the started registry
   expires. A ``SimpleWorker`` sends no heartbeat while a job runs, so RQ sets that entry to the job's
   timeout plus a fixed 60 s. ``abandoned_grace_seconds`` replaces the 60 s: the job cannot outlive
   its timeout (RQ's death penalty stops it), so the margin need only cover RQ's bookkeeping.
2. Maintenance (which retries abandoned jobs that have retries left, else fails them) runs only
   between blocking dequeues, and an idle worker blocks for ``worker_ttl - 15`` s (405 s): the
   maintenance interval is a wish beyond that. The dequeue is capped at the interval.
3. A heartbeat, state mark, suspension check or maintenance run that meets a restarting Redis ends
   the worker ("unhandled exception, quitting"), though RQ's dequeue right after them waits for Redis
   with a backoff. Each is logged and skipped instead, and runs again on the next loop (the worker key's TTL,
   480 s, covers many missed heartbeats).
4. The scheduler is a forked child that never checks its parent: a worker killed with SIGKILL leaves
   it running, holding the scheduler lock (so no new worker's scheduler can take over) with nothing to
   restart it when it fails. ``ParentBoundScheduler`` stops, releasing its lock, once its parent is gone.
5. RQ installs its signal handlers after it forks the scheduler, in the worker and in the child.
   A stop can only be asked of RQ's loop through that handler: ``stop_before_next_job`` lets a
   SIGTERM caught earlier (by ``EarlyStop``) stop the loop before its first dequeue, through RQ's
   own teardown, which also stops the scheduler. And the child is forked with SIGTERM blocked,
   which it unblocks once its own handler is in place: the worker stopping it right away (its
   teardown sends SIGTERM, then waits) can no longer hit a child that would ignore it or die
   holding the scheduler locks.
6. The cron scheduler (``python -m jobs.cron``) installs its handler only in ``start()``, and that
   handler raises; before it, a SIGTERM would end the process with the signal's default.
   ``StoppableCronScheduler`` honours a SIGTERM caught earlier (by ``EarlyStop``) once its own
   handler is in place, the way that handler stops it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

import redis.exceptions
from redis.client import Pipeline
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.job import Job
from rq.scheduler import RQScheduler


class ParentBoundScheduler(RQScheduler):
    """Stops within one scheduling interval once the worker that forked it has died."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Taken in the worker, before the fork: in the child, a different parent means an orphan.
        self.parent_pid = os.getpid()

    def heartbeat(self) -> None:
        # Called once per loop; the loop stops (and releases the locks) when a stop was requested.
        if os.getppid() != self.parent_pid:
            self.log.warning("Scheduler: worker %d is gone, stopping", self.parent_pid)
            self.request_stop()  # type: ignore[no-untyped-call]  # RQ leaves it untyped
        super().heartbeat()  # type: ignore[no-untyped-call]

    def _install_signal_handlers(self) -> None:
        # First thing in the forked child's work(); a SIGTERM held back since the fork lands now.
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]  # RQ leaves it untyped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class ResilientWorker(SimpleWorker):
    """A ``SimpleWorker`` whose abandoned jobs are found ``abandoned_grace_seconds`` after their
    timeout, whose maintenance runs every ``maintenance_interval`` s even when idle, and whose
    scheduler dies with it."""

    def __init__(self, *args: Any, abandoned_grace_seconds: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.abandoned_grace_seconds = abandoned_grace_seconds

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        if job.timeout is None or job.timeout <= 0:
            # No timeout (-1) or RQ's default: RQ's own choice, which has no bound to lean on.
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + self.abandoned_grace_seconds

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        try:
            super().heartbeat(timeout, pipeline)
        except redis.exceptions.ConnectionError as error:
            self._skipped("heartbeat", error)

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        try:
            super().set_state(state, pipeline)
        except redis.exceptions.ConnectionError as error:
            self._skipped(f"state {state!r}", error)

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except redis.exceptions.ConnectionError as error:
            self._skipped("suspension check", error)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]  # RQ leaves it untyped
        except redis.exceptions.ConnectionError as error:
            self._skipped("maintenance", error)

    def stop_before_next_job(self) -> None:
        # The flag RQ's loop checks before each dequeue (its own handler sets it while a job runs).
        self._stop_requested = True

    def _skipped(self, what: str, error: Exception) -> None:
        self.log.warning("Worker %s: %s skipped (%s); the dequeue waits for Redis", self.name, what, error)

    @property
    def dequeue_timeout(self) -> int:
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval)))

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = None,
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        # RQ's own, with the scheduler class swapped (RQ names its class here, with no hook). Typed
        # as Any: RQ leaves the scheduler's methods untyped.
        scheduler: Any = ParentBoundScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler = scheduler
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        if burst:
            try:
                scheduler.register_birth()
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
                scheduler.register_death()
        else:
            # The child inherits the mask; the worker's own SIGTERM waits only for the fork.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            try:
                scheduler.start()
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class EarlyStop:
    """A job process's SIGTERM handler until RQ installs its own (items 5 and 6). It raises nothing:
    an exception raised at an arbitrary point of the start-up (RQ forks its scheduler there) could
    leave that child running and the process waiting on it at exit. It records the request and hands
    it to what will honour it through RQ's own way of stopping, once that exists."""

    def __init__(self) -> None:
        self.requested = False
        self._honour: Callable[[], None] | None = None

    @classmethod
    def install(cls) -> EarlyStop:
        handler = cls()
        signal.signal(signal.SIGTERM, handler)
        return handler

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        self.requested = True
        if self._honour is not None:
            self._honour()

    def hand_to(self, honour: Callable[[], None]) -> None:
        """A request from now on goes to ``honour``; one made already goes at once."""
        self._honour = honour
        if self.requested:
            honour()


class StoppableCronScheduler(CronScheduler):
    """Stops as soon as its own SIGTERM handler is in place when a SIGTERM came before it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_requested = False

    def stop_once_started(self) -> None:
        self.stop_requested = True

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]  # RQ leaves it untyped
        # From here on a SIGTERM raises StopRequested; one that came before is honoured the same way.
        if self.stop_requested:
            raise StopRequested
