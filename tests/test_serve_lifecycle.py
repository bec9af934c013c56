"""`make run`'s process (`python -m schema serve`, the embedded default with its job thread and cron)
starts or fails fast, and stops on SIGTERM or one Ctrl-C within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from redis.asyncio import Redis

from perf.shared.server_process import ROOT, start_server
from persistence.ops_publisher import OpsPublisher
from persistence.ops_window import process_window

STOP_WITHIN_SECONDS = 5.0


def _run_environment(tmp_path: Path) -> dict[str, str]:
    """What `make run` sets: the embedded default on a fresh SQLite file, demo data (whose tasks due
    today give cron a scan of emails to queue at once), emails logged."""
    return {
        "TASKQL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "TASKQL_EMAIL_TRANSPORT": "log",
    }


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_is_a_one_line_error_and_exit_code_1(taken_port: int, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {**_run_environment(tmp_path), "TASKQL_HOST": "127.0.0.1", "TASKQL_PORT": str(taken_port)}
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "schema", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert time.monotonic() - started < 10
    assert finished.returncode == 1
    assert finished.stdout == ""
    assert finished.stderr.splitlines() == [
        f"taskql: cannot listen on 127.0.0.1:{taken_port}: address already in use"
    ]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_one_signal_stops_the_server_its_job_thread_and_cron(
    stop_signal: signal.Signals, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    server = start_server(log, _run_environment(tmp_path))
    # Given the job thread at work on the scan's emails
    deadline = time.monotonic() + 10
    while "taskql.jobs.email" not in server.output():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    # When one signal arrives
    started = time.monotonic()
    server.process.send_signal(stop_signal)
    try:
        server.process.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        pytest.fail(f"still running {STOP_WITHIN_SECONDS} s after {stop_signal.name}:\n{server.output()}")
    # Then the whole process is gone within seconds, after a clean application shutdown
    assert time.monotonic() - started < STOP_WITHIN_SECONDS
    assert "Application shutdown complete" in server.output()
    assert "Traceback" not in server.output()


class _SwallowingPipeline:
    """A Redis pipeline that finishes the command it was cancelled in, as the embedded default's
    in-process Redis does when the job thread keeps it busy."""

    async def __aenter__(self) -> _SwallowingPipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def set(self, *_: object, **__: object) -> None: ...

    def zadd(self, *_: object) -> None: ...

    def zremrangebyscore(self, *_: object) -> None: ...

    async def execute(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)


class _SwallowingRedis:
    def pipeline(self, *, transaction: bool) -> _SwallowingPipeline:
        return _SwallowingPipeline()

    async def zrem(self, *_: object) -> None: ...

    async def delete(self, *_: object) -> None: ...


async def test_the_ops_publisher_stops_though_its_redis_swallows_the_cancel() -> None:
    redis = cast("Redis", _SwallowingRedis())
    publisher = OpsPublisher(redis, "lifecycle", process_window(), interval_seconds=1, ttl_seconds=30)
    publisher.start()
    await asyncio.sleep(0.01)  # within the first tick's command
    # (Not wait_for: a stop cancelled by its timeout would return as if it had stopped.)
    stopping = asyncio.create_task(publisher.stop())
    stopped, _ = await asyncio.wait({stopping}, timeout=1)
    assert stopped, "the publisher ticks on after its stop"
