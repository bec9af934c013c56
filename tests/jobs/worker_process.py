"""A real worker, ``python -m jobs.worker`` in a subprocess, for the job tests: started with the
suite's database, a Redis and the SMTP sink, and stopped the way a test needs (SIGTERM, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests import services as test_services

ROOT = Path(__file__).resolve().parents[2]
SENDER = "taskql <no-reply@mail.taskql.test>"
# What every link in the workers' emails starts with (TASKQL_PUBLIC_BASE_URL).
PUBLIC_BASE_URL = "https://app.taskql.test"


def worker_env(
    smtp_port: int, *, redis_url: str = test_services.REDIS_URL, **settings: str
) -> dict[str, str]:
    """The environment of a job process: the suite's database, a Redis, the sink as SMTP server;
    ``settings``: further ``TASKQL_*`` variables, by their names without the prefix."""
    return {
        **os.environ,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": redis_url,
        "TASKQL_SMTP_HOST": "127.0.0.1",
        "TASKQL_SMTP_PORT": str(smtp_port),
        "TASKQL_SMTP_FROM": SENDER,
        "TASKQL_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TASKQL_REPORT_ROOT": test_services.REPORT_ROOT,
        **{f"TASKQL_{name.upper()}": value for name, value in settings.items()},
    }


def start_worker(
    smtp_port: int, log: Path, *, redis_url: str = test_services.REDIS_URL, **settings: str
) -> subprocess.Popen[bytes]:
    """``python -m jobs.worker --no-cron``: without the cron scheduler, a job test enqueues what it
    tests (tests/jobs/test_schedule.py runs the scheduler on its own) and no scan sends email to its
    recipients unasked."""
    env = worker_env(smtp_port, redis_url=redis_url, **settings)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_worker(process: subprocess.Popen[bytes], log: Path, timeout: float = 15) -> None:
    """SIGTERM is a warm shutdown: the worker finishes what it runs and must exit 0."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        raise
    assert code == 0, log.read_text()
