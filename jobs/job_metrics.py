"""``rq_jobs_total{queue,outcome}``: the worker counts each job it finishes as succeeded, retried (a
retry is scheduled) or failed (none is left), and serves its counters on a port of its own.

The worker is a process apart from the server, so the server's ``/metrics`` cannot see its counters;
a small HTTP server in the worker (``TASKQL_WORKER_METRICS_PORT``, 0 for none) is the simplest thing
Prometheus can scrape. Several workers on one host each need their own port: a port taken is logged
and the worker runs on without it.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import start_http_server
from rq.job import Job
from rq.queue import Queue

from jobs.rq_adapters import ResilientWorker
from persistence.metrics import RQ_JOBS
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs")


class MeteredWorker(ResilientWorker):
    def handle_job_success(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        super().handle_job_success(job, queue, *args, **kwargs)
        RQ_JOBS.labels(queue.name, "succeeded").inc()

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        # Decided before RQ counts the retry down; a job stopped on request is not retried either.
        retried = job.should_retry and self._stopped_job_id != job.id
        super().handle_job_failure(job, queue, *args, **kwargs)
        RQ_JOBS.labels(queue.name, "retried" if retried else "failed").inc()


def serve_worker_metrics(settings: Settings) -> None:
    port = settings.worker_metrics_port
    if port == 0:
        return
    try:
        start_http_server(port, addr=settings.worker_metrics_host)
    except OSError as error:
        log.warning("job metrics not served on port %d: %s", port, error)
        return
    log.info("job metrics on http://%s:%d/metrics", settings.worker_metrics_host, port)
