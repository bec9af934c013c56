"""A worker stopped while it starts (a deploy replacing it at once) exits 0 promptly and leaves no
process behind, wherever in the start-up the SIGTERM lands.

The dangerous moment is inside RQ's ``work()``: it forks its scheduler, then installs its own signal
handler. A SIGTERM between the two must neither end the worker with the signal's default nor leave
it waiting at exit on a scheduler nobody stops. Timing rarely lands there, so the worker sends the
signal to itself at each point (tests/jobs/sigterm_worker.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker
from rq.cron import CronScheduler

from perf.shared.cpu import group_members
from perf.shared.private_redis import PrivateRedis
from tests.jobs.sigterm_worker import CRON_POINTS, POINTS, SENT
from tests.jobs.sink import Sink
from tests.jobs.worker_process import ROOT, worker_env


def _run_to_its_signal(point: str, sink: Sink, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = worker_env(sink.port, redis_url=redis_url, cron_enabled=str(point in CRON_POINTS).lower())
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our interpreter, no shell
            [sys.executable, "-m", "tests.jobs.sigterm_worker", point],
            cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_sigterm_anywhere_in_the_start_up_is_a_clean_prompt_stop(
    point: str, sink: Sink, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    # A Redis of its own: no other scheduler holds the lock, so RQ forks one here every time.
    log = tmp_path / "worker.log"
    process = _run_to_its_signal(point, sink, private_redis.url, log)
    try:
        code = process.wait(timeout=20)
        time.sleep(0.5)  # a child it failed to stop would still be there
        output = log.read_text()
        assert SENT in output
        assert (code, group_members(process.pid)) == (0, []), output
        # Unregistered, and the scheduler's locks released: a new worker's scheduler can start at once.
        connection = Redis.from_url(private_redis.url)
        assert (Worker.all(connection=connection), connection.keys("rq:scheduler-lock:*")) == ([], [])
        connection.close()
    finally:
        # Whatever outlived the test must not outlive the suite.
        for pid in group_members(process.pid):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("point", sorted(CRON_POINTS))
def test_a_sigterm_while_the_cron_scheduler_starts_is_a_clean_stop(
    point: str, sink: Sink, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    log = tmp_path / "cron.log"
    process = _run_to_its_signal(point, sink, private_redis.url, log)
    try:
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    # Then it exits 0 with a logged line, no traceback, and leaves no registration behind
    assert SENT in output
    assert (code, "Traceback" in output) == (0, False), output
    assert "cron scheduler stopped while starting" in output
    connection = Redis.from_url(private_redis.url)
    assert CronScheduler.all(connection) == []
    connection.close()
