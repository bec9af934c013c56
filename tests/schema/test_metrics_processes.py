"""Several server processes, one `/metrics`: the sum over all of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perf.shared.server_process import ServerProcess, start_server
from tests import services as test_services
from tests.scrape import sample

GRAPHQL = {"route": "/graphql", "method": "POST"}


def server_environment(**more: str) -> dict[str, str]:
    return {
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_SEED_DEMO_DATA": "false",
        **more,
    }


def post_anonymous(base_url: str, times: int) -> None:
    # A fresh connection each time, so that several workers behind one port share the requests.
    for _ in range(times):
        response = httpx.post(f"{base_url}/graphql", json={"query": "{ __typename }"}, trust_env=False)
        assert response.status_code == 200, response.text


def graphql_requests(base_url: str) -> float:
    return sample(httpx.get(f"{base_url}/metrics", trust_env=False).text, "http_requests_total", **GRAPHQL)


@pytest.fixture
def shared_pair(
    database: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    environment = server_environment(PROMETHEUS_MULTIPROC_DIR=str(directory))
    first = start_server(tmp_path / "first.log", environment)
    second = start_server(tmp_path / "second.log", environment)
    yield first, second
    first.stop()
    second.stop()


def test_two_processes_sharing_a_directory_report_the_sum(
    shared_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    # Given two server processes sharing one metrics directory
    first, second = shared_pair
    # When one answers 3 GraphQL requests and the other 5
    post_anonymous(first.base_url, 3)
    post_anonymous(second.base_url, 5)
    # Then either one's /metrics reports all 8
    assert graphql_requests(first.base_url) == 8
    assert graphql_requests(second.base_url) == 8


def test_a_server_with_two_workers_reports_every_workers_requests(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    # Given `python -m schema serve --workers 2`
    server = start_server(tmp_path / "workers.log", server_environment(), arguments=["--workers", "2"])
    try:
        # When it answers 20 requests on fresh connections
        post_anonymous(server.base_url, 20)
        # Then every scrape (whichever worker answers it) reports all 20
        assert {graphql_requests(server.base_url) for _ in range(6)} == {20}
    finally:
        server.stop()
    assert "Traceback" not in server.output()
