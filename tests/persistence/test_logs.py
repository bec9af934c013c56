"""The log formats: JSON objects in production, readable single lines in development, the same for the
server, the worker and cron; colour codes reach neither."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perf.shared.server_process import ROOT, start_server
from persistence.logs import JsonFormatter, TextFormatter, request_id_bound
from persistence.settings import Settings
from tests import services as test_services
from tests.schema.ops_helpers import server_environment

GREEN = "\x1b[32m"
RESET = "\x1b[39;49;00m"
# `12:04:05.123 INFO     uvicorn.error  Application startup complete.`
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+  \S")
PRODUCTION = {"TASKQL_ENVIRONMENT": "production", "TASKQL_JWT_SECRET": "p" * 40}


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "rq.worker", "levelname": "INFO", "msg": message})
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_no_colour_codes() -> None:
    # Given a record as RQ colours it on a terminal, with uvicorn's coloured copy of the message
    record = _record(f"{GREEN}default{RESET}: Job OK (42)", color_message=f"{GREEN}coloured{RESET}")
    record.job_id = f"{GREEN}42{RESET}"
    with request_id_bound("req-1"):
        line = JsonFormatter().format(record)
    # Then the line is one JSON object with plain text in every field
    assert "\x1b" not in line
    assert "\\u001b" not in line
    fields = json.loads(line)
    assert fields["message"] == "default: Job OK (42)"
    assert fields["job_id"] == "42"
    assert fields["request_id"] == "req-1"
    assert "color_message" not in fields
    assert {"ts", "level", "logger"} <= set(fields)


def test_text_lines_are_single_readable_lines() -> None:
    record = _record(f"{GREEN}two{RESET}\nlines", statement="SELECT 1", duration_ms=12.5, empty="")
    with request_id_bound("req-2"):
        line = TextFormatter().format(record)
    assert "\n" not in line
    assert "\x1b" not in line
    assert TEXT_LINE.match(line), line
    assert " INFO     rq.worker  two\\nlines  " in line
    assert line.endswith('statement="SELECT 1" duration_ms=12.5 empty="" request_id=req-2')


def test_a_traceback_follows_a_text_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord({"name": "taskql", "msg": "failed", "exc_info": sys.exc_info()})
    first, *rest = TextFormatter().format(record).split("\n")
    assert first.endswith("taskql  failed")
    assert rest[-1] == "ValueError: boom"


def test_the_format_follows_the_environment() -> None:
    assert Settings(environment="development").resolved_log_format == "text"
    assert Settings(environment="test").resolved_log_format == "json"
    assert Settings(environment="production", jwt_secret="p" * 40).resolved_log_format == "json"
    assert Settings(environment="development", log_format="json").resolved_log_format == "json"


def _job_process_lines(arguments: list[str], environment: dict[str, str], log: Path) -> list[str]:
    """A job process's log lines: it runs until its first line, then gets SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_WORKER_METRICS_PORT": "0",
        "TASKQL_REPORT_ROOT": test_services.REPORT_ROOT,
        **environment,
    }
    with log.open("wb") as out:
        command = [sys.executable, "-m", *arguments]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our interpreter, no shell
    try:
        deadline = time.monotonic() + 30
        while not log.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()  # a hung process must not outlive the test (its scheduler dies with it)
            process.wait()
            raise
    return log.read_text().splitlines()


# What the interpreter prints between the tracebacks of chained exceptions.
CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


def _log_lines(lines: list[str]) -> list[str]:
    """The lines a logger wrote. The server's banner (its URL, the demo login) is printed, not logged;
    a traceback (its indented frames, then the exception's own line) is what the interpreter printed,
    for instance when the SIGTERM that ends the process lands while it is still starting."""
    logged: list[str] = []
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and not line.startswith(" "):
            in_traceback = False  # the exception's line ends the traceback
        elif not in_traceback and line.strip() and not line.startswith(("taskql:", " ", *CHAINED)):
            logged.append(line)
    return logged


@pytest.mark.usefixtures("database", "redis_url")
@pytest.mark.parametrize(("environment", "log_format"), [({}, "text"), (PRODUCTION, "json")])
def test_every_process_logs_in_one_format(
    environment: dict[str, str], log_format: str, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "server.log", {**server_environment(), **environment})
    server.stop()
    job_env = {"TASKQL_ENVIRONMENT": "development", **environment}
    outputs = {
        "server": server.output().splitlines(),
        "worker": _job_process_lines(["jobs.worker", "--no-cron"], job_env, tmp_path / "worker.log"),
        "cron": _job_process_lines(["jobs.cron"], job_env, tmp_path / "cron.log"),
    }
    for process, lines in outputs.items():
        logged = _log_lines(lines)
        assert logged, (process, lines)
        for line in logged:
            assert "\x1b" not in line, (process, line)
            if log_format == "json":
                assert isinstance(json.loads(line), dict), (process, line)
            else:
                assert TEXT_LINE.match(line), (process, line)
