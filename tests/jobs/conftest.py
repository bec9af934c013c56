"""The job tests' shared fixtures: the SMTP sink, a synchronous Redis client for RQ, and a real worker
(``python -m jobs.worker`` in a subprocess), each started once per module that uses it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from redis import Redis

from jobs.queues import connect
from tests.conftest import make_settings
from tests.jobs.sink import Sink, running_sink
from tests.jobs.worker_process import start_worker, stop_worker


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
def worker(
    database: str, redis_url: str, sink: Sink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    process = start_worker(sink.port, log)
    yield process
    stop_worker(process, log)
