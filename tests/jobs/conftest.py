"""The job tests' shared fixtures: the SMTP sink, the webhook receiver, a synchronous Redis client for
RQ, and real workers (``python -m jobs.worker --no-cron`` in a subprocess), each started once per module that
uses it; a module that needs the worker configured otherwise starts its own with ``running_worker``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from jobs.queues import connect
from tests import services as test_services
from tests.conftest import make_settings
from tests.jobs.receiver import Receiver, running_receiver
from tests.jobs.sink import Sink, running_sink

ROOT = Path(__file__).resolve().parents[2]
SENDER = "taskql <no-reply@mail.taskql.test>"


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with running_sink() as handler:
        yield handler


@pytest.fixture(scope="module")
def rq_redis(redis_url: str) -> Iterator[Redis]:
    connection = connect(make_settings(), for_worker=True)
    yield connection
    connection.close()


def worker_env(sink: Sink) -> dict[str, str]:
    """The environment of a job process: the suite's database and Redis, the sink as SMTP server."""
    return {
        **os.environ,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_SMTP_HOST": "127.0.0.1",
        "TASKQL_SMTP_PORT": str(sink.port),
        "TASKQL_SMTP_FROM": SENDER,
        "TASKQL_REPORT_ROOT": test_services.REPORT_ROOT,
    }


@pytest.fixture(scope="module")
def job_env(database: str, redis_url: str, sink: Sink) -> dict[str, str]:
    return worker_env(sink)


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
    """``python -m jobs.worker --no-cron`` on the suite's database and Redis, sending email to ``sink``:
    without the cron scheduler, a job test enqueues what it tests (tests/jobs/test_schedule.py runs
    the scheduler on its own) and no scan sends email to its recipients unasked."""
    env = {**worker_env(sink), **(extra_env or {})}
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        # SIGTERM is a warm shutdown: the worker finishes what it runs and exits cleanly.
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, log.read_text()


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
