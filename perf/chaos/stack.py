"""What a drill runs against, all its own: a private MariaDB and Redis, one production-mode API server
(``python -m schema serve``) and one job worker (``python -m jobs.worker``), on loopback only."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from perf.shared.private_mariadb import PrivateMariaDB, start_private_mariadb
from perf.shared.private_redis import PrivateRedis, start_private_redis
from perf.shared.server_process import ROOT, ServerProcess, start_server

DATABASE = "taskql"
WORKER_STOP_SECONDS = 15.0


def environment(mariadb: PrivateMariaDB, redis: PrivateRedis) -> dict[str, str]:
    """The TASKQL_* variables of the server and the worker alike (one JWT secret for both, and for
    the server that replaces a killed one, so tokens issued before a crash are still good)."""
    return {
        "TASKQL_ENVIRONMENT": "production",
        "TASKQL_JWT_SECRET": secrets.token_urlsafe(48),
        "TASKQL_DATABASE_URL": mariadb.url(DATABASE),
        "TASKQL_REDIS_URL": redis.url,
        "TASKQL_SEED_DEMO_DATA": "false",
        "TASKQL_MIGRATE_ON_START": "false",
        # The drill sends its documents as text; production would refuse any not registered.
        "TASKQL_TRUSTED_DOCUMENTS": "off",
        # One user stands for many clients: its cost bucket must not be what refuses a write.
        "TASKQL_COST_BUCKET_CAPACITY": "100000000",
        "TASKQL_COST_RESTORE_RATE": "100000000",
        "TASKQL_ACCESS_TOKEN_TTL_SECONDS": "3600",
        "TASKQL_EMAIL_TRANSPORT": "log",
        # Never the default 9101 another worker on this machine may hold.
        "TASKQL_WORKER_METRICS_PORT": "0",
    }


@dataclass
class Stack:
    mariadb: PrivateMariaDB
    redis: PrivateRedis
    variables: dict[str, str]
    logs: Path
    api: ServerProcess
    worker: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return self.api.base_url

    def errors_logged(self) -> int:
        """ERROR and CRITICAL records of every API process so far: an outage the server handles
        is logged as a WARNING, so anything above is worth reading."""
        count = 0
        for line in self.api.output().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # not a record: a line the interpreter wrote itself
            count += isinstance(record, dict) and record.get("level") in ("ERROR", "CRITICAL")
        return count

    def stop_api(self) -> None:
        """Whichever server process runs now (a killed one's replacement, say)."""
        self.api.stop()

    def replace_api(self) -> None:
        """A new server process on the killed one's port: clients keep their URL."""
        self.api = start_server(self.logs / "api.log", self.variables, port=self.api.port)


def _start_worker(variables: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Without its cron scheduler: the periodic scans are not what a drill exercises, and the
    machine is small."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron", "--log-level", "WARNING"],
            cwd=ROOT,
            env={**_inherited(), **variables},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM is a warm shutdown; a worker still stuck after it is killed."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)


@contextmanager
def services(directory: Path) -> Iterator[tuple[PrivateMariaDB, PrivateRedis]]:
    """The private MariaDB (with an empty ``taskql`` database) and Redis, killed on the way out."""
    (directory / "mariadb").mkdir()
    with ExitStack() as stack:
        mariadb = start_private_mariadb(directory / "mariadb")
        stack.callback(mariadb.kill)
        redis = start_private_redis()
        stack.callback(redis.kill)
        mariadb.create_database(DATABASE)
        yield mariadb, redis


@contextmanager
def processes(
    mariadb: PrivateMariaDB, redis: PrivateRedis, variables: dict[str, str], logs: Path
) -> Iterator[Stack]:
    """The API server and the worker over a migrated database; both stopped on the way out."""
    with ExitStack() as stack:
        worker = _start_worker(variables, logs / "worker.log")
        stack.callback(_stop_worker, worker)
        running = Stack(mariadb, redis, variables, logs, start_server(logs / "api.log", variables), worker)
        stack.callback(running.stop_api)
        yield running
