"""A client that hangs up before its request is read is counted as 499, not as a server error: fifty
of them against a real server leave no 5xx in `/metrics` and no traceback in the log."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from perf.shared.server_process import ServerProcess, start_server
from tests.schema.test_metrics_processes import server_environment
from tests.scrape import label_values, sample

HANGUPS = 50
WAIT_SECONDS = 10.0


@pytest.fixture
def server(database: str, redis_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    running = start_server(tmp_path / "server.log", server_environment(TASKQL_REDIS_URL=redis_url))
    yield running
    running.stop()


def _hang_up_mid_body(base_url: str) -> None:
    """Announces a large body, sends a few bytes of it and closes the connection."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=5) as sock:
        head = (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"query": "{ __ty')


def _metrics(server: ServerProcess) -> str:
    return httpx.get(f"{server.base_url}/metrics", trust_env=False).text


def test_clients_that_hang_up_are_counted_as_499_and_trip_no_5xx(server: ServerProcess) -> None:
    for _ in range(HANGUPS):
        _hang_up_mid_body(server.base_url)
    deadline = time.monotonic() + WAIT_SECONDS
    while sample(_metrics(server), "http_requests_total", route="/graphql", status="499") < HANGUPS:
        assert time.monotonic() < deadline, _metrics(server)
        time.sleep(0.1)
    statuses = label_values(_metrics(server), "http_requests_total", "status")
    assert not {status for status in statuses if status.startswith("5")}, statuses
    # The server still answers, and its log holds no traceback for what is not a bug.
    answered = httpx.post(f"{server.base_url}/graphql", json={"query": "{ __typename }"}, trust_env=False)
    assert answered.status_code == 200
    assert "Traceback" not in server.output()
    assert "ClientDisconnect" not in server.output()
