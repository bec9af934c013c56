"""The image's entrypoint (deploy/docker-entrypoint.sh), run outside Docker against the suite's MariaDB
and Redis: each command reaches its program, `exec`ed so the container's SIGTERM stops it gracefully."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from perf.shared.local_processes import free_port
from perf.shared.server_process import ROOT
from persistence.migrate import is_current
from tests import services as test_services

ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"
# A database of its own: `migrate` must find it empty, and the run's database is already at head.
DATABASE = f"{test_services.MARIADB_DATABASE}_entrypoint"
DATABASE_URL = f"{test_services.MARIADB_SERVER_URL}/{DATABASE}"
STOP_WITHIN_SECONDS = 5.0
START_WITHIN_SECONDS = 60.0


def _environment(**settings: str) -> dict[str, str]:
    """Production, as the image runs; the interpreter of the suite first on PATH (the image's `python`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env | {
        "TASKQL_ENVIRONMENT": "production",
        "TASKQL_JWT_SECRET": "entrypoint-test-secret-0123456789abcdef",
        "TASKQL_DATABASE_URL": DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        **settings,
    }


def _run(*arguments: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script
        [str(ENTRYPOINT), *arguments],
        cwd=ROOT,
        env=_environment(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _start(log: Path, *arguments: str, **settings: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own script
            [str(ENTRYPOINT), *arguments],
            cwd=ROOT,
            env=_environment(**settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_WITHIN_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {START_WITHIN_SECONDS} s:\n{log.read_text(errors='replace')}")


def _command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().rstrip("\0").split("\0")


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _stop_with_sigterm(process: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds from SIGTERM to the exit; the exit status must be 0 (a graceful stop)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        returncode = process.wait(timeout=STOP_WITHIN_SECONDS * 3)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"still running after SIGTERM:\n{log.read_text(errors='replace')}")
    assert returncode == 0, log.read_text(errors="replace")
    return time.monotonic() - started


@pytest.fixture
def stopped_at_the_end() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
async def migrated_database() -> AsyncIterator[str]:
    """An empty database that `migrate` (through the entrypoint) brings to head."""
    test_services.require_tcp("MariaDB", test_services.MARIADB_HOST, test_services.MARIADB_PORT)
    test_services.require_tcp("Redis", test_services.REDIS_HOST, test_services.REDIS_PORT)
    server = create_async_engine(test_services.MARIADB_SERVER_URL)
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{DATABASE}`"))
        await conn.execute(
            text(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    migrated = _run("migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    yield DATABASE_URL
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{DATABASE}`"))
    await server.dispose()


async def test_migrate_brings_an_empty_database_to_head(migrated_database: str) -> None:
    engine = create_async_engine(migrated_database)
    try:
        assert await is_current(engine)
    finally:
        await engine.dispose()


def test_serve_runs_the_configured_processes_and_stops_on_sigterm(
    migrated_database: str, tmp_path: Path, stopped_at_the_end: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "serve.log"
    port = free_port()
    server = _start(log, "serve", TASKQL_HOST="127.0.0.1", TASKQL_PORT=str(port), TASKQL_SERVER_WORKERS="2")
    stopped_at_the_end.append(server)
    _wait_until_answering(f"http://127.0.0.1:{port}/healthz", server, log)
    # exec: the process the container signals is the server itself, not a shell in front of it.
    assert _command_line(server.pid)[1:] == ["-m", "schema", "serve", "--workers", "2"]
    assert len(_children(server.pid)) >= 2
    assert _stop_with_sigterm(server, log) < STOP_WITHIN_SECONDS


def test_worker_serves_its_metrics_and_stops_on_sigterm(
    migrated_database: str, tmp_path: Path, stopped_at_the_end: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "worker.log"
    port = free_port()
    worker = _start(log, "worker", TASKQL_WORKER_METRICS_PORT=str(port))
    stopped_at_the_end.append(worker)
    _wait_until_answering(f"http://127.0.0.1:{port}/metrics", worker, log)
    assert _command_line(worker.pid)[1:] == ["-m", "jobs.worker"]
    assert _stop_with_sigterm(worker, log) < STOP_WITHIN_SECONDS


def test_documents_registers_a_manifest(migrated_database: str, tmp_path: Path) -> None:
    query = "query Node($id: ID!) { node(id: $id) { id } }"
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps({f"sha256:{hashlib.sha256(query.encode()).hexdigest()}": query}))
    registered = _run("documents", str(manifest), "--client", "entrypoint-test")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert registered.stdout.splitlines()[0] == "registered 1, unchanged 0"


def test_an_unknown_command_is_a_usage_line_and_a_failure() -> None:
    finished = _run("server")
    assert finished.returncode != 0
    assert finished.stdout == ""
    assert finished.stderr.splitlines() == [
        "docker-entrypoint.sh: unknown command 'server'",
        "usage: docker-entrypoint.sh serve | worker [--burst] | migrate | documents FILE --client NAME",
    ]
