"""A frozen Redis costs a bounded delay: a real server whose Redis is frozen (SIGSTOP: connections open,
nothing answers) for 5 s under writes with Idempotency-Keys and reads at 10/s each. The first call to
time out opens the process's one Redis breaker, so the requests after it skip Redis at once: writes
stay within p95 300 ms, each is acknowledged and, replayed after the thaw, written exactly once."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from perf.shared.private_redis import PrivateRedis
from perf.shared.server_process import ServerProcess, start_server
from persistence.models import Task
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import PASSWORD
from tests.scrape import sample

FREEZE_SECONDS = 5.0
# Two cooldowns in the freeze, as the default 5 s make two of a 10 s one: each ends in a probe.
COOLDOWN_SECONDS = 2.0
PER_SECOND = 10
WRITE_P95_SECONDS = 0.3
CREATE = (
    "mutation($p: ID!, $t: String!) "
    "{ taskCreate(input: {projectId: $p, title: $t}) { task { id } errors { code } } }"
)
TASKS = "query { tasks(first: 20) { totalCount nodes { id title } } }"
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"


def _server(tmp_path: Path, redis: PrivateRedis) -> ServerProcess:
    # The defaults an operator runs with (the socket timeout, the relay's sweep), the cooldown aside.
    return start_server(
        tmp_path / "server.log",
        {
            "TASKQL_ENVIRONMENT": "test",
            "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
            "TASKQL_REDIS_URL": redis.url,
            "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
            "TASKQL_MIGRATE_ON_START": "false",
            "TASKQL_ANONYMOUS_COST_BUCKET_CAPACITY": "1000000",
            "TASKQL_CACHE_BREAKER_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
        },
    )


class Load:
    """Writes and reads sent on a fixed schedule (not one after another: a slow answer does not slow
    the rate), each one's latency kept."""

    def __init__(self, http: httpx.AsyncClient, token: str, project_id: str) -> None:
        self.http = http
        self.auth = {"authorization": f"Bearer {token}"}
        self.project_id = project_id
        self.writes: dict[str, tuple[float, str]] = {}  # title: (latency, task id)
        self.reads: list[float] = []

    def create_request(self, title: str) -> tuple[dict[str, Any], dict[str, str]]:
        body = {"query": CREATE, "variables": {"p": self.project_id, "t": title}}
        return body, {**self.auth, "idempotency-key": f"key-{title}"}

    async def write(self, title: str) -> None:
        body, headers = self.create_request(title)
        started = time.monotonic()
        response = await self.http.post("/graphql", json=body, headers=headers)
        latency = time.monotonic() - started
        assert response.status_code == 200, response.text
        payload = response.json()["data"]["taskCreate"]
        assert payload["errors"] == [], payload
        self.writes[title] = (latency, payload["task"]["id"])

    async def read(self) -> None:
        started = time.monotonic()
        response = await self.http.post("/graphql", json={"query": TASKS}, headers=self.auth)
        self.reads.append(time.monotonic() - started)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text

    async def run(self, prefix: str, seconds: float) -> None:
        sent: list[asyncio.Task[None]] = []
        start = time.monotonic()
        for tick in range(int(seconds * PER_SECOND)):
            await asyncio.sleep(max(0.0, start + tick / PER_SECOND - time.monotonic()))
            sent.append(asyncio.create_task(self.write(f"{prefix}-{tick}")))
            sent.append(asyncio.create_task(self.read()))
        await asyncio.gather(*sent)


def _p95(latencies: list[float]) -> float:
    return sorted(latencies)[int(0.95 * (len(latencies) - 1))]


def _figures(latencies: list[float]) -> str:
    p50, p95, top = statistics.median(latencies), _p95(latencies), max(latencies)
    return f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {top * 1000:.0f} ms"


async def _breaker_closed(http: httpx.AsyncClient) -> str:
    """The metrics once the breaker has closed again (a probe after the cooldown found Redis)."""
    deadline = time.monotonic() + 3 * COOLDOWN_SECONDS
    while True:
        metrics = (await http.get("/metrics")).text
        if sample(metrics, "redis_breaker_open") == 0 or time.monotonic() > deadline:
            return metrics
        await asyncio.sleep(0.1)


async def _titles_written(services: Services, org: SeededOrganization, prefix: str) -> dict[str, int]:
    query = (
        select(Task.title, func.count())
        .where(Task.organization_id == org.organization_id, Task.title.like(f"{prefix}-%"))
        .group_by(Task.title)
    )
    async with services.db.read() as conn:
        return {title: count for title, count in (await conn.execute(query)).all()}


async def test_a_frozen_redis_costs_writes_a_bounded_delay(
    services: Services, make_org: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    org = await make_org()
    server = _server(tmp_path, private_redis)
    try:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10, limits=limits) as http:
            login = await http.post(
                "/graphql", json={"query": LOGIN, "variables": {"e": org.owner_email, "p": PASSWORD}}
            )
            token = login.json()["data"]["authLogin"]["accessToken"]
            load = Load(http, token, encode_id("Project", org.project_ids[0]))
            # Warm: the session, the budget and the task list through Redis.
            await load.run("warm", 1.0)

            private_redis.freeze()
            try:
                frozen = Load(http, token, load.project_id)
                await frozen.run("frozen", FREEZE_SECONDS)
            finally:
                private_redis.thaw()
            # Then writes and reads were slowed only until the first timeout opened the breaker
            writes = [latency for latency, _ in frozen.writes.values()]
            assert _p95(writes) <= WRITE_P95_SECONDS, _figures(writes)
            assert _p95(frozen.reads) <= WRITE_P95_SECONDS, _figures(frozen.reads)
            # And every write was acknowledged; replayed after the thaw, each answers its task again
            assert len(frozen.writes) == FREEZE_SECONDS * PER_SECOND
            for title, (_, task_id) in frozen.writes.items():
                body, headers = frozen.create_request(title)
                replay = await http.post("/graphql", json=body, headers=headers)
                assert replay.json()["data"]["taskCreate"]["task"]["id"] == task_id, replay.text
            # And the breaker opened once for the whole outage, and closed after it
            metrics = await _breaker_closed(http)
        assert sample(metrics, "redis_breaker_openings_total") == 1
        assert sample(metrics, "redis_breaker_open") == 0
        # And each write is in the database exactly once
        assert await _titles_written(services, org, "frozen") == dict.fromkeys(frozen.writes, 1)
        # And the outage was logged once when noticed and once when over
        output = server.output()
        assert output.count("Redis unavailable (noticed by") == 1, output
        assert output.count("Redis available again") == 1, output
    finally:
        server.stop()
