"""Fixtures of the schema's process tests: a plain client of the suite's Redis (what the relay would
publish, who is subscribed), and for the live-ops tests (the opsMetrics subscription and the /ops
page) a real server process per module, and an operator and a member signed in to it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from perf.shared.server_process import ServerProcess, start_server
from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests.conftest import GraphQLClient
from tests.schema.ops_helpers import People, operator_and_member, server_environment
from tests.services import in_ci

MakeOrg = Callable[..., Awaitable[SeededOrganization]]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's `chromium`, for the pages' tests (the /ops page, GraphiQL)."""
    found = shutil.which("chromium")
    if found is None:
        if in_ci():
            pytest.fail("chromium is not installed (make system-deps)", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def ops_server(
    database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    running = start_server(Path(tmp_path_factory.mktemp("ops")) / "server.log", server_environment())
    yield running
    running.stop()


@pytest.fixture
async def people(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> People:
    return await operator_and_member(services, gql, await make_org())
