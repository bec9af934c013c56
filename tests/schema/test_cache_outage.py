"""A running server with its Redis stopped, then frozen: every request is answered from MariaDB in well
under 2 s with no 5xx, writes are visible on the next read, and when Redis is back the caches work
again without serving what was cached before the outage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from perf.shared.private_redis import PrivateRedis
from perf.shared.server_process import ServerProcess, start_server
from persistence.seed import SeededOrganization
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import PASSWORD

TASKS = "query { tasks(first: 100) { totalCount nodes { id title } } }"
CREATE = (
    "mutation($p: ID!, $t: String!) { taskCreate(input: {projectId: $p, title: $t}) { errors { code } } }"
)


class Client:
    def __init__(self, http: httpx.AsyncClient, org: SeededOrganization) -> None:
        self.http = http
        self.org = org
        self.token = ""

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        started = time.monotonic()
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        # Bounded, and never a server error, whatever Redis does
        assert time.monotonic() - started < 2.0
        assert response.status_code < 500, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body

    async def login(self) -> None:
        mutation = (
            "mutation($e: String!, $p: String!) "
            "{ authLogin(input: {email: $e, password: $p}) { accessToken } }"
        )
        body = await self.post(mutation, {"e": self.org.owner_email, "p": PASSWORD})
        self.token = body["data"]["authLogin"]["accessToken"]

    async def titles(self) -> tuple[set[str], int]:
        body = await self.post(TASKS)
        return {n["title"] for n in body["data"]["tasks"]["nodes"]}, body["extensions"]["sqlStatements"]

    async def create(self, title: str) -> None:
        body = await self.post(CREATE, {"p": encode_id("Project", self.org.project_ids[0]), "t": title})
        assert body["data"]["taskCreate"]["errors"] == []


def _server(tmp_path: Path, redis: PrivateRedis) -> ServerProcess:
    return start_server(
        tmp_path / "server.log",
        {
            "TASKQL_ENVIRONMENT": "test",
            "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
            "TASKQL_REDIS_URL": redis.url,
            "TASKQL_MIGRATE_ON_START": "false",
            "TASKQL_EXPOSE_STATEMENT_COUNT": "true",
            "TASKQL_CACHE_BREAKER_COOLDOWN_SECONDS": "0.5",
            "TASKQL_RELAY_SWEEP_INTERVAL_SECONDS": "3600",
            "TASKQL_ANONYMOUS_COST_BUCKET_CAPACITY": "1000000",
            # The task list through its cache: the compiled engine reads it from MariaDB every time.
            "TASKQL_EXECUTION_ENGINE": "resolvers",
        },
    )


async def _cached(client: Client) -> set[str]:
    """Reads until the list comes from the cache (no statement: the session and the page cached)."""
    for _ in range(20):
        titles, statements = await client.titles()
        if statements == 0:
            return titles
        await asyncio.sleep(0.1)
    raise AssertionError("the task list never came from the cache")


async def test_the_server_serves_through_a_stopped_and_a_frozen_redis(
    make_org: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    org = await make_org()
    server = _server(tmp_path, private_redis)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            client = Client(http, org)
            await client.login()
            # Given a task list cached while Redis is up
            cached_before = await _cached(client)
            # When Redis is stopped, a write and a read are answered from MariaDB
            private_redis.kill()
            await client.create("written while stopped")
            titles, _ = await client.titles()
            assert titles == cached_before | {"written while stopped"}
            # When it comes back (empty, as after a crash), the caches work again and show the write
            private_redis.restart()
            await asyncio.sleep(0.6)  # the breaker's cooldown
            assert await _cached(client) == titles
            # Given the list cached again, when Redis is frozen (SIGSTOP) and a write lands meanwhile
            private_redis.freeze()
            await client.create("written while frozen")
            frozen_titles, _ = await client.titles()
            assert "written while frozen" in frozen_titles
            # Then once it thaws, the entry cached before the freeze is never served again
            private_redis.thaw()
            await asyncio.sleep(0.6)
            after, _ = await client.titles()
            assert after == frozen_titles
            assert await _cached(client) == frozen_titles
    finally:
        server.stop()
