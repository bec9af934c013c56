"""The embedded default's jobs: the same queues and job bodies, run by a worker thread in the server.

With ``memory://`` the queues live in the in-process Redis, which a separate worker process could not
see. ``EmbeddedJobs`` runs a ``SimpleWorker`` in a thread instead: no signal handlers (only the main
thread may install them), ``TimerDeathPenalty`` for job timeouts (the default one uses SIGALRM), and
no scheduler process (a fork would get a copy of the in-process Redis): every poll the thread moves
the retries that are due from the scheduled registries to their queues itself, enqueues the periodic
jobs whose time has come (jobs/schedule.py, the same cron schedule ``make worker`` runs), then works
off what is queued in burst mode. Stopping lets the current job finish, and no other start.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from jobs.email import close_smtp_connection
from jobs.queues import QUEUE_NAMES, connect, queues, use_settings
from jobs.schedule import build_schedule
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs")
POLL_SECONDS = 0.25
# A stopping server waits this long for the job in hand; a longer one is left to die with the process
# (the thread is a daemon), so that Ctrl-C or SIGTERM ends `make run` within seconds.
STOP_TIMEOUT_SECONDS = 3.0


class ThreadWorker(SimpleWorker):
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        """The server's own handlers stay: this worker stops when the thread is told to."""


class EmbeddedJobs:
    def __init__(self, settings: Settings, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.connection = connect(settings, for_worker=True)
        self.queues = queues(self.connection)
        self.worker = ThreadWorker(self.queues, connection=self.connection, serializer=JSONSerializer)
        self.scheduler: Any = RQScheduler(QUEUE_NAMES, connection=self.connection, serializer=JSONSerializer)
        self.cron = build_schedule(settings, self.connection)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        use_settings(self.settings)
        self._stop.clear()
        self.worker._stop_requested = False
        self._thread = threading.Thread(target=self._run, name="taskql-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        # RQ's own flag, checked between jobs: a burst ends after the job in hand instead of working
        # off the whole queue (a due-soon scan may have queued hundreds of emails).
        self.worker._stop_requested = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("the embedded job thread is still finishing a job")
            self._thread = None
        self.scheduler.release_locks()
        close_smtp_connection()
        use_settings(None)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("embedded jobs: a poll failed")
            self._stop.wait(self.poll_seconds)

    def run_once(self) -> None:
        """Enqueues the due retries and periodic jobs, then runs every queued job (high, default, low)."""
        if not self.scheduler.acquired_locks:
            self.scheduler.acquire_locks()
        else:
            self.scheduler.heartbeat()
        self.scheduler.enqueue_scheduled_jobs()
        if self.settings.cron_enabled:
            self.cron.enqueue_jobs()
        if any(queue.count for queue in self.queues):
            self.worker.work(burst=True, logging_level="WARNING")
