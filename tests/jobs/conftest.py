"""The job tests' shared fixtures: the SMTP sink, the webhook receiver, a synchronous Redis client for
RQ, and real workers (``python -m jobs.worker --no-cron`` in a subprocess), each started once per module that
uses it; a module that needs the worker configured otherwise starts its own with ``running_worker``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from jobs.queues import connect
from tests.conftest import make_settings
from tests.jobs.receiver import Receiver, running_receiver
from tests.jobs.sink import Sink, running_sink
from tests.jobs.worker_process import start_worker, stop_worker, worker_env


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with running_sink() as handler:
        yield handler


@pytest.fixture(scope="module")
def rq_redis(redis_url: str) -> Iterator[Redis]:
    connection = connect(make_settings(), for_worker=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def job_env(database: str, redis_url: str, sink: Sink) -> dict[str, str]:
    return worker_env(sink.port)


@pytest.fixture(scope="module")
def worker(
    database: str, redis_url: str, sink: Sink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    with running_worker(sink, tmp_path_factory.mktemp("worker")) as process:
        yield process


@contextmanager
def running_worker(
    sink: Sink, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m jobs.worker --no-cron`` (tests/jobs/worker_process.py) on the suite's database and
    Redis, sending email to ``sink``, until the block ends; then a warm shutdown, which must exit 0."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "worker.log"
    settings = {name.removeprefix("TASKQL_").lower(): value for name, value in (extra_env or {}).items()}
    process = start_worker(sink.port, log, **settings)
    try:
        yield process
    finally:
        stop_worker(process, log)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as handler:
        yield handler


@pytest.fixture(scope="module")
def webhook_worker(
    database: str, redis_url: str, sink: Sink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker that may reach the receiver on 127.0.0.1 (only that host: "localhost" stays refused)
    and gives up on an answer after 1 s."""
    env = {"TASKQL_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "TASKQL_WEBHOOK_TIMEOUT_SECONDS": "1"}
    with running_worker(sink, tmp_path_factory.mktemp("webhook-worker"), env) as process:
        yield process
