"""``python -m jobs.worker`` (``make worker``): one non-forking worker over high, default, low.

A ``SimpleWorker`` runs each job in its own process (no fork per job: ~5x the throughput, and the job
bodies are safe to run in a long-lived process: each opens and disposes of its own engine). The
scheduler runs beside it (RQ forks it off), since retries that wait are scheduled jobs. SIGTERM or
SIGINT asks for a warm shutdown: the current job finishes, then the worker exits; a second signal
stops at once. ``--burst`` works off what is queued and exits (the scheduled retries are not waited for).

Unless ``--no-cron``, ``--burst`` or ``TASKQL_CRON_ENABLED=false``, the worker also starts
``python -m jobs.cron`` beside it, the scheduler of the periodic jobs, and stops it when it stops: one
command runs a complete host, and running it on several hosts is harmless (each period's run is
enqueued once).
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from jobs.queues import QUEUE_NAMES, connect, is_embedded, queues
from persistence.settings import get_settings

CRON_STOP_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__)
    parser.add_argument("--burst", action="store_true", help="work off the queued jobs, then exit")
    parser.add_argument("--no-cron", action="store_true", help="do not start the cron scheduler beside it")
    parser.add_argument("--log-level", default="INFO")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    if is_embedded(settings):
        parser.error("the embedded default (memory://) runs its jobs inside the server: set TASKQL_REDIS_URL")
    connection = connect(settings, for_worker=True)
    worker = SimpleWorker(queues(connection), connection=connection, serializer=JSONSerializer)
    logging.getLogger("taskql.jobs").info("worker over %s", ", ".join(QUEUE_NAMES))
    cron = None
    if settings.cron_enabled and not (arguments.no_cron or arguments.burst):
        command = [sys.executable, "-m", "jobs.cron", "--log-level", arguments.log_level]
        cron = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module, no shell
    try:
        worker.work(burst=arguments.burst, with_scheduler=True, logging_level=arguments.log_level)
    finally:
        if cron is not None:
            _stop(cron)
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
