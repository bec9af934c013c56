"""``python -m jobs.worker`` (``make worker``): one non-forking worker over high, default, low.

A ``SimpleWorker`` (with the fixes in jobs/rq_adapters.py) runs each job in its own process (no fork
per job: ~5x the throughput, and the job
bodies are safe to run in a long-lived process: each opens and disposes of its own engine). The
scheduler runs beside it (RQ forks it off), since retries that wait are scheduled jobs. SIGTERM or
SIGINT asks for a warm shutdown: the current job finishes, then the worker exits; a second signal
stops at once. ``--burst`` works off what is queued and exits (the scheduled retries are not waited for).
Every ``TASKQL_WORKER_MAINTENANCE_INTERVAL_SECONDS`` a worker retries (or fails) the jobs of workers
that died mid-job. A lost Redis connection is retried with a backoff (RQ's loop), never fatal.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rq.serializers import JSONSerializer

from jobs.queues import QUEUE_NAMES, connect, is_embedded, queues
from jobs.rq_adapters import ResilientWorker
from persistence.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__)
    parser.add_argument("--burst", action="store_true", help="work off the queued jobs, then exit")
    parser.add_argument("--log-level", default="INFO")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    if is_embedded(settings):
        parser.error("the embedded default (memory://) runs its jobs inside the server: set TASKQL_REDIS_URL")
    connection = connect(settings, for_worker=True)
    worker = ResilientWorker(
        queues(connection),
        connection=connection,
        serializer=JSONSerializer,
        maintenance_interval=settings.worker_maintenance_interval_seconds,
        abandoned_grace_seconds=settings.worker_abandoned_grace_seconds,
    )
    logging.getLogger("taskql.jobs").info("worker over %s", ", ".join(QUEUE_NAMES))
    worker.work(burst=arguments.burst, with_scheduler=True, logging_level=arguments.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
