"""The job tests' shared fixtures: the SMTP sink, a synchronous Redis client for RQ, and a real worker
(``python -m jobs.worker --no-cron`` in a subprocess), each started once per module that uses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from jobs.queues import connect
from tests import services as test_services
from tests.conftest import make_settings
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


@pytest.fixture(scope="module")
def job_env(database: str, redis_url: str, sink: Sink) -> dict[str, str]:
    """The environment of a job process: the suite's database and Redis, the sink as SMTP server."""
    return {
        **os.environ,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_SMTP_HOST": "127.0.0.1",
        "TASKQL_SMTP_PORT": str(sink.port),
        "TASKQL_SMTP_FROM": SENDER,
    }


@pytest.fixture(scope="module")
def worker(
    job_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    env = job_env
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with log.open("wb") as out:
        # Without the cron scheduler: a job test enqueues what it tests (tests/jobs/test_schedule.py runs
        # the scheduler on its own), and no scan sends email to its recipients unasked.
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield process
    # SIGTERM is a warm shutdown: the worker finishes what it runs and exits cleanly.
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == 0, log.read_text()
