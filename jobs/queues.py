"""RQ's side of the jobs: the connection, the three queues (JSON, never pickle) and the retry policies.

The policies are the seed's ("Task Retry Strategy"): with backoff a retry ``n`` (0-based) waits about
``base * 2**n`` seconds, capped, and with jitter a random time between half of that and all of it
("equal jitter": spread out, yet never an immediate retry); without backoff every retry waits ``base``
(capped too). RQ takes the waits as whole seconds, fixed when the job is enqueued; a retry that waits
needs a worker running the scheduler.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import fakeredis
import redis
from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jobs.tracing import traced_meta
from persistence.db import Database, create_engine
from persistence.redis import EMBEDDED_URL, embedded_server
from persistence.replica import Replica
from persistence.settings import Settings, get_settings

HIGH, DEFAULT, LOW = "high", "default", "low"
# The order a worker takes them in.
QUEUE_NAMES = (HIGH, DEFAULT, LOW)
# The enqueuing side fails fast (the relay logs what it could not enqueue); the worker sets its own.
ENQUEUE_SOCKET_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    backoff_max_seconds: int
    jitter: bool
    # False: a fixed wait (``base`` before every retry) instead of one that doubles.
    backoff: bool = True

    def delays(self, base_seconds: float, rng: random.Random | None = None) -> list[int]:
        """The wait before each retry, in whole seconds (at least 1, at most the cap)."""
        pick = rng or random.Random()  # noqa: S311 - jitter spreads retries; it protects nothing
        waits: list[int] = []
        for attempt in range(self.max_retries):
            growth = 2**attempt if self.backoff else 1
            delay = min(float(self.backoff_max_seconds), base_seconds * growth)
            if self.jitter:
                delay = pick.uniform(delay / 2, delay)
            waits.append(max(1, min(self.backoff_max_seconds, round(delay))))
        return waits

    def retry(self, base_seconds: float, rng: random.Random | None = None) -> Retry:
        return Retry(max=self.max_retries, interval=self.delays(base_seconds, rng))


def is_last_attempt() -> bool:
    """No retry left for the running job: RQ counts ``retries_left`` down as it schedules each retry,
    so 0 (or a job without retries) while running means this is the last attempt. Outside a worker (a
    direct call) every attempt is the last."""
    job = get_current_job()
    return job is None or not job.retries_left


EMAIL_RETRY = RetryPolicy(max_retries=3, backoff_max_seconds=600, jitter=True)
# The seed has no retry policy for push, only its latency (p50 500 ms, p99 5 s, max 15 s). A notice on
# a lock screen is worth something only while it is fresh, and the gateway's own outages are short:
# 3 retries capped at 60 s (with TASKQL_PUSH_BACKOFF_BASE_SECONDS=5, about 5, 10, 20 s), so a push is
# either there within about a minute or given up (the notification stays in the app), instead of a
# stale one arriving ten minutes later like a retried email may.
PUSH_RETRY = RetryPolicy(max_retries=3, backoff_max_seconds=60, jitter=True)
# The seed lists no jitter for webhooks: each endpoint's deliveries retry on their own schedule anyway.
WEBHOOK_RETRY = RetryPolicy(max_retries=5, backoff_max_seconds=1800, jitter=False)
# Reports: 2 retries, each after the same wait: the base, TASKQL_REPORT_RETRY_DELAY_SECONDS (the seed's
# 300 s); the cap only bounds a misconfigured setting.
REPORT_RETRY = RetryPolicy(max_retries=2, backoff_max_seconds=3600, jitter=False, backoff=False)


_job_settings: Settings | None = None


def use_settings(settings: Settings | None) -> None:
    """The settings job bodies run with in this process (the embedded runner passes the app's own);
    None: from the environment, as in ``python -m jobs.worker``."""
    global _job_settings  # noqa: PLW0603 - one process, one configuration for its job bodies
    _job_settings = settings


T = TypeVar("T")


def job_settings() -> Settings:
    return _job_settings or get_settings()


_job_engine: AsyncEngine | None = None
_job_replica: Replica | None = None


def use_job_engine(engine: AsyncEngine | None, replica: Replica | None = None) -> None:
    """A pooled engine for the job bodies of a process that runs every job on one event loop
    (``python -m jobs.worker``, jobs/worker_loop.py), and the read replica's when there is one;
    None: an engine per read."""
    global _job_engine  # noqa: PLW0603 - one process, one engine for its job bodies
    global _job_replica  # noqa: PLW0603 - and one replica's
    _job_engine = engine
    _job_replica = replica


async def read_once(settings: Settings, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """One read (see ``with_database``)."""

    async def once(db: Database) -> T:
        async with db.read() as conn:
            return await read(conn)

    return await with_database(settings, once)


async def write_once(settings: Settings, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """One transaction (see ``with_database``), committed on success."""

    async def once(db: Database) -> T:
        async with db.unit_of_work() as conn:
            return await write(conn)

    return await with_database(settings, once)


async def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """A job's work with a database. In the worker, on its pooled engine (every job runs on the
    worker's one event loop, jobs/worker_loop.py). Elsewhere with an engine of the job's own: the
    embedded runner runs an ``async def`` job with ``asyncio.run``, a fresh event loop per job, and a
    pooled connection cannot outlive its loop."""
    if _job_engine is not None:
        return await work(Database(_job_engine, replica=_job_replica))
    db = Database(create_engine(settings, null_pool=True))
    try:
        return await work(db)
    finally:
        await db.dispose()


def is_embedded(settings: Settings) -> bool:
    """The embedded default: the queues live in the in-process Redis and jobs run in a thread."""
    return settings.redis_url == EMBEDDED_URL


def connect(settings: Settings, *, for_worker: bool = False) -> redis.Redis:
    """A synchronous client (RQ is synchronous). The worker's blocking reads set their own timeout."""
    if is_embedded(settings):
        # The app's in-process server (its Lua support comes from fakeredis[lua]).
        return fakeredis.FakeRedis(server=embedded_server())
    if for_worker:
        return redis.Redis.from_url(settings.redis_url)
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=ENQUEUE_SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=ENQUEUE_SOCKET_TIMEOUT_SECONDS,
    )


def queue(name: str, connection: redis.Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def queues(connection: redis.Redis) -> list[Queue]:
    return [queue(name, connection) for name in QUEUE_NAMES]


def enqueue_once(
    into: Queue,
    func: Callable[..., object],
    args: Sequence[object],
    *,
    job_id: str,
    settings: Settings,
    keep_seconds: int,
    description: str,
) -> bool:
    """Enqueues an email job under a deterministic id with ``unique=True`` (see jobs/enqueue.py): False
    when a job of that id exists, queued, running, or finished less than ``keep_seconds`` ago."""
    try:
        into.enqueue_call(
            func,
            args=tuple(args),
            job_id=job_id,
            unique=True,
            retry=EMAIL_RETRY.retry(settings.job_backoff_base_seconds),
            timeout=settings.job_timeout_seconds,
            result_ttl=keep_seconds,
            failure_ttl=keep_seconds,
            description=description,
            meta=traced_meta(),
        )
    except DuplicateJobError:
        return False
    return True
