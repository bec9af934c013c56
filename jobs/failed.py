"""``python -m jobs.failed list|requeue [--all|ID...]`` (``make failed-jobs``): the failed jobs.

A job lands in a queue's failed registry when its retries are spent (or its worker died and it had
none left), and stays there ``TASKQL_JOB_DEDUP_TTL_SECONDS``. ``list`` shows each with its queue, when
it ended and the last line of its error; ``requeue`` puts them back on their queue for one more attempt
(RQ does not refill the retries). RQ's own ``rq info``/``rq requeue`` work too, given
``--serializer rq.serializers.JSONSerializer``; this one knows the queues and the settings.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

import redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from jobs.queues import QUEUE_NAMES, connect, is_embedded
from persistence.settings import get_settings


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    ended_at: datetime | None
    description: str
    error: str


def _registry(name: str, connection: redis.Redis) -> FailedJobRegistry:
    return FailedJobRegistry(name, connection=connection, serializer=JSONSerializer)


def failed_jobs(connection: redis.Redis) -> list[FailedJob]:
    """Every queue's failed jobs, queue by queue in priority order, oldest first."""
    found: list[FailedJob] = []
    for name in QUEUE_NAMES:
        ids = _registry(name, connection).get_job_ids()
        for job in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer):
            if job is None:  # expired between the two reads
                continue
            result = job.latest_result()
            error = (result.exc_string or "").strip().splitlines() if result is not None else []
            found.append(
                FailedJob(job.id, name, job.ended_at, job.description or "", error[-1] if error else "")
            )
    return found


def requeue(connection: redis.Redis, job_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """Requeues each id from the failed registry it is in; (requeued, not found in any)."""
    registries = [_registry(name, connection) for name in QUEUE_NAMES]
    requeued: list[str] = []
    missing: list[str] = []
    for job_id in dict.fromkeys(job_ids):
        registry = next((r for r in registries if job_id in r), None)
        if registry is None:
            missing.append(job_id)
            continue
        registry.requeue(job_id)
        requeued.append(job_id)
    return requeued, missing


def run(argv: list[str] | None, connection: redis.Redis, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.failed", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the failed jobs, one a line (id, queue, ended at, what, error)")
    requeueing = commands.add_parser("requeue", help="put failed jobs back on their queue")
    chosen = requeueing.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--all", action="store_true", help="every failed job")
    chosen.add_argument("ids", nargs="*", default=[], metavar="ID", help="job ids, as `list` shows them")
    arguments = parser.parse_args(argv)
    if arguments.command == "list":
        for job in failed_jobs(connection):
            ended = job.ended_at.isoformat(timespec="seconds") if job.ended_at else "-"
            print(f"{job.id}\t{job.queue}\t{ended}\t{job.description}\t{job.error}", file=out)
        return 0
    ids = [job.id for job in failed_jobs(connection)] if arguments.all else arguments.ids
    requeued, missing = requeue(connection, ids)
    for job_id in requeued:
        print(f"requeued {job_id}", file=out)
    for job_id in missing:
        print(f"not a failed job: {job_id}", file=out)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    if is_embedded(settings):
        print("the embedded default (memory://) keeps its jobs inside the server: set TASKQL_REDIS_URL")
        return 2
    return run(argv, connect(settings))


if __name__ == "__main__":
    sys.exit(main())
