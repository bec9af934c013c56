"""Where the suite finds MariaDB and Redis, and what it does when they are missing.

Under CI=true a missing service fails the run; on a developer's machine the tests that need it skip.
"""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

MARIADB_HOST = os.environ.get("TASKQL_TEST_MARIADB_HOST", "127.0.0.1")
MARIADB_PORT = int(os.environ.get("TASKQL_TEST_MARIADB_PORT", "3306"))
MARIADB_DATABASE = os.environ.get("TASKQL_TEST_MARIADB_DATABASE", "taskql_test")
MARIADB_SERVER_URL = f"mysql+aiomysql://root@{MARIADB_HOST}:{MARIADB_PORT}"
DATABASE_URL = f"{MARIADB_SERVER_URL}/{MARIADB_DATABASE}"
REDIS_HOST = os.environ.get("TASKQL_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TASKQL_TEST_REDIS_PORT", "6379"))
# A database index of its own, so the suite never touches what else uses the shared server.
REDIS_DB = int(os.environ.get("TASKQL_TEST_REDIS_DB", "13"))
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
# Channels are server-wide: a run of its own, so two runs on one Redis never hear each other.
CHANNEL_PREFIX = f"taskql-test-{os.getpid()}"
# Report files of this run: the app (which serves them) and the worker processes (which write them).
REPORT_ROOT = os.path.join(tempfile.gettempdir(), f"taskql-test-reports-{os.getpid()}")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tcp(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port}: {exc}"
        if in_ci():
            pytest.fail(f"{message} (CI=true: services must be running)", pytrace=False)
        pytest.skip(message)
