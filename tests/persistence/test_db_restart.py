"""A real server reading from a MariaDB of its own, which is restarted under it: the next read
succeeds. A connection idle past ``db_ping_idle_seconds`` is pinged and replaced before use; one in
steady use is not pinged, and its read, meeting the killed connection, runs again on a fresh one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from perf.shared.private_mariadb import PrivateMariaDB
from perf.shared.private_redis import PrivateRedis
from perf.shared.server_process import ServerProcess, start_server
from persistence.migrate import upgrade_to_head
from persistence.seed import SeededOrganization, seed_organization
from schema.app import build_services
from tests.conftest import PASSWORD, SMALL, make_settings

TASKS = "query { tasks(first: 10) { totalCount nodes { title } } }"
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"
RETRIED = "retrying it once on a fresh one"


async def _seeded(url: str, redis_url: str) -> SeededOrganization:
    services = build_services(make_settings(database_url=url, redis_url=redis_url))
    try:
        await upgrade_to_head(services.db.engine)
        return await seed_organization(
            services.db,
            services.passwords,
            SMALL,
            slug="restart",
            owner_email="owner@restart.test",
            password=PASSWORD,
        )
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()


def _server(
    tmp_path: Path, url: str, redis_url: str, ping_idle_seconds: float, **settings: str
) -> ServerProcess:
    """``settings``: more TASKQL_ variables, by their names without the prefix."""
    return start_server(
        tmp_path / "server.log",
        {
            "TASKQL_ENVIRONMENT": "test",
            "TASKQL_DATABASE_URL": url,
            "TASKQL_REDIS_URL": redis_url,
            "TASKQL_MIGRATE_ON_START": "false",
            "TASKQL_EXPOSE_STATEMENT_COUNT": "true",
            "TASKQL_RELAY_SWEEP_INTERVAL_SECONDS": "3600",
            "TASKQL_DB_PING_IDLE_SECONDS": str(ping_idle_seconds),
            "TASKQL_ANONYMOUS_COST_BUCKET_CAPACITY": "1000000",
            **{f"TASKQL_{name.upper()}": value for name, value in settings.items()},
        },
    )


async def _read(http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": TASKS}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


@pytest.mark.parametrize(
    ("ping_idle_seconds", "retried", "session_cached"),
    [
        # Every connection counts as idle: the ping finds the dead one before the read does.
        (0.0, False, False),
        # No connection counts as idle: the read meets the dead one and runs again.
        (3600.0, True, False),
        # The session from Redis: the first statement is the compiled read's, and it runs again.
        (3600.0, True, True),
    ],
    ids=["idle-connection-pinged", "busy-connection-read-retried", "compiled-read-retried"],
)
async def test_the_next_read_after_a_mariadb_restart_succeeds(
    private_mariadb: PrivateMariaDB,
    private_redis: PrivateRedis,
    tmp_path: Path,
    ping_idle_seconds: float,
    retried: bool,
    session_cached: bool,
) -> None:
    private_mariadb.create_database("taskql")
    url = private_mariadb.url("taskql")
    org = await _seeded(url, private_redis.url)
    server = _server(tmp_path, url, private_redis.url, ping_idle_seconds)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            login = await http.post(
                "/graphql", json={"query": LOGIN, "variables": {"e": org.owner_email, "p": PASSWORD}}
            )
            token = login.json()["data"]["authLogin"]["accessToken"]
            before = await _read(http, token)

            private_mariadb.restart()
            if not session_cached:
                # Nothing from Redis: the session and the page are read from the restarted MariaDB.
                redis = Redis.from_url(private_redis.url)
                await redis.flushdb()
                await redis.aclose()

            after = await _read(http, token)
            assert after["data"] == before["data"]
            assert after["extensions"]["sqlStatements"] > 0
            assert (RETRIED in server.output()) is retried, server.output()
    finally:
        server.stop()
