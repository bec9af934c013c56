"""``python -m jobs.worker`` (``make worker``): one non-forking worker over high, default, low.

A ``SimpleWorker`` (with the fixes in jobs/rq_adapters.py) runs each job in its own process (no fork
per job: ~5x the throughput), every ``async def`` job on the process's one event loop with one pooled
engine (jobs/worker_loop.py: ~2x again). The scheduler runs beside it (RQ forks it off), since retries
that wait are scheduled jobs. SIGTERM or SIGINT asks for a warm shutdown: the current job finishes,
then the worker exits; a second signal stops at once. ``--burst`` works off what is queued and exits
(the scheduled retries are not waited for).
Every ``TASKQL_WORKER_MAINTENANCE_INTERVAL_SECONDS`` a worker retries (or fails) the jobs of workers
that died mid-job. A lost Redis connection is retried with a backoff (RQ's loop), never fatal.

Unless ``--no-cron``, ``--burst`` or ``TASKQL_CRON_ENABLED=false``, the worker also starts
``python -m jobs.cron`` beside it, the scheduler of the periodic jobs, and stops it when it stops: one
command runs a complete host, and running it on several hosts is harmless (each period's run is
enqueued once).
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import subprocess
import sys

from rq.serializers import JSONSerializer

from jobs.email import close_smtp_connection
from jobs.job_metrics import MeteredWorker, serve_worker_metrics
from jobs.queues import QUEUE_NAMES, connect, is_embedded, queues, use_job_engine
from jobs.rq_adapters import EarlyStop
from jobs.worker_loop import LoopJob, run_on_worker_loop
from persistence.db import Database, create_engine, create_replica
from persistence.logs import logging_config
from persistence.settings import Settings, get_settings
from persistence.tracing import start_tracing, stop_tracing

CRON_STOP_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__)
    parser.add_argument("--burst", action="store_true", help="work off the queued jobs, then exit")
    parser.add_argument("--no-cron", action="store_true", help="do not start the cron scheduler beside it")
    parser.add_argument("--log-level", default="INFO")
    arguments = parser.parse_args(argv)
    settings = get_settings()
    logging.config.dictConfig(logging_config(arguments.log_level, settings.resolved_log_format))
    if is_embedded(settings):
        parser.error("the embedded default (memory://) runs its jobs inside the server: set TASKQL_REDIS_URL")
    # Until RQ's loop installs its own handler, a SIGTERM (a deploy stopping a worker that is still
    # starting) would end the process with the signal's default: note it and stop cleanly instead.
    early_stop = EarlyStop.install()
    return _run(arguments, settings, early_stop)


def _run(arguments: argparse.Namespace, settings: Settings, early_stop: EarlyStop) -> int:
    connection = connect(settings, for_worker=True)
    # Before the engine: it is instrumented when it is made.
    start_tracing(settings, "taskql-worker")
    # Jobs run one at a time: the pool holds the one connection they share.
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
    # Report builds read the replica once it has caught up (jobs/reports.py).
    replica = create_replica(settings, engine, (1, 0), statement_timeout=False)
    use_job_engine(engine, replica)
    serve_worker_metrics(settings)
    worker = MeteredWorker(
        queues(connection),
        connection=connection,
        serializer=JSONSerializer,
        job_class=LoopJob,
        maintenance_interval=settings.worker_maintenance_interval_seconds,
        abandoned_grace_seconds=settings.worker_abandoned_grace_seconds,
    )
    early_stop.hand_to(worker.stop_before_next_job)
    cron = None
    try:
        if early_stop.requested:
            logging.getLogger("taskql.jobs").info("worker stopped while starting")
            return 0
        logging.getLogger("taskql.jobs").info("worker over %s", ", ".join(QUEUE_NAMES))
        if settings.cron_enabled and not (arguments.no_cron or arguments.burst):
            command = [sys.executable, "-m", "jobs.cron", "--log-level", arguments.log_level]
            command += ["--parent-pid", str(os.getpid())]
            cron = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module, no shell
        worker.work(burst=arguments.burst, with_scheduler=True, logging_level=arguments.log_level)
    finally:
        if cron is not None:
            _stop(cron)
        use_job_engine(None)
        run_on_worker_loop(Database(engine, replica=replica).dispose())
        close_smtp_connection()
        stop_tracing()  # what the batch processor still holds goes out
    return 0


def _stop(cron: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a Ctrl-C in a terminal has reached it already; a second one is harmless), then wait."""
    cron.terminate()
    try:
        cron.wait(timeout=CRON_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        cron.kill()
        cron.wait()


if __name__ == "__main__":
    sys.exit(main())
