"""A fleet on one machine: two production-mode API processes (each with its outbox relay) sharing one
MariaDB and one Redis, behind a real HAProxy, and a job worker. What one process does, the other
sees: subscriptions, idempotency keys and cost budgets hold across processes, and a process killed
with SIGKILL loses no acknowledged write while the balancer sends everything to the other.

The tests share one fleet and run in order: the last one kills process A."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from perf.chaos import ledger as ledgers
from perf.chaos.seed import login, migrate_and_seed
from perf.chaos.stack import environment, processes, services
from perf.chaos.subscriber import Subscriber
from perf.chaos.writer import Writer, title_prefix
from perf.shared.haproxy import HAProxy, start_haproxy
from perf.shared.server_process import ROOT, ServerProcess, start_server

# Small enough to spend in a few requests; refilled so slowly it stays spent for the test.
API_KEY_BUCKET = 30
WRITE_RATE = 10.0
DELIVERY_SECONDS = 10.0
DOWN_SECONDS = 5.0
MID_REQUEST_SECONDS = 5.0
TITLE = (
    "mutation ($input: TaskCreateInput!) { taskCreate(input: $input) { task { id title } errors { code } } }"
)
CREATE_KEY = 'mutation { apiKeyCreateV2(input: {name: "fleet", scope: READ}) { key errors { code } } }'
# An API key runs trusted documents only: this one is registered, and sent by its id.
SPEND = "query FleetSpend { viewer { user { id } organization { id } } }"
SPEND_ID = "fleet.Spend.v1"


@dataclass
class Fleet:
    variables: dict[str, str]
    project_id: str
    token: str
    a: ServerProcess
    b: ServerProcess
    balancer: HAProxy

    @property
    def database_url(self) -> str:
        return self.variables["TASKQL_DATABASE_URL"]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", **extra}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fleet]:
    # A short path: it holds MariaDB's and HAProxy's sockets.
    directory = tmp_path_factory.mktemp("fleet")
    with services(directory) as (mariadb, redis), ExitStack() as stack:
        variables = environment(mariadb, redis) | {
            "TASKQL_API_KEY_COST_BUCKET_CAPACITY": str(API_KEY_BUCKET),
            "TASKQL_API_KEY_COST_RESTORE_RATE": "0.001",
        }
        project_id = await migrate_and_seed(variables)
        # The drill's stack: the worker and process A; process B beside it, on the same services.
        a = stack.enter_context(processes(mariadb, redis, variables, directory)).api
        b = start_server(directory / "api-b.log", variables)
        stack.callback(b.stop)
        balancer = start_haproxy(directory, [("a", a.port), ("b", b.port)])
        stack.callback(balancer.stop)
        yield Fleet(variables, project_id, await login(balancer.base_url), a, b, balancer)


async def _create(fleet: Fleet, base_url: str, title: str, key: str | None = None) -> dict[str, Any]:
    headers = fleet.headers() if key is None else fleet.headers(**{"idempotency-key": key})
    body = {"query": TITLE, "variables": {"input": {"projectId": fleet.project_id, "title": title}}}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["taskCreate"]
    assert payload["errors"] == [], payload
    return payload


@asynccontextmanager
async def _subscribed(fleet: Fleet, server: ServerProcess) -> AsyncIterator[Subscriber]:
    subscriber = Subscriber(
        server.base_url.replace("http://", "ws://") + "/graphql", fleet.token, fleet.project_id
    )
    stop = asyncio.Event()
    running = asyncio.create_task(subscriber.run(stop))
    try:
        async with asyncio.timeout(DELIVERY_SECONDS):
            while not subscriber.subscribed_at:  # noqa: ASYNC110 - the subscriber's own task sets it
                await asyncio.sleep(0.05)
        yield subscriber
    finally:
        stop.set()
        await subscriber.resume()
        await running


async def _delivered(fleet: Fleet, subscriber: Subscriber) -> int:
    """The project's last event sequence, once the subscriber has received it."""
    last = await ledgers.head(fleet.database_url, fleet.project_id)
    async with asyncio.timeout(DELIVERY_SECONDS):
        await subscriber.until_received(last)
    return last


async def test_a_subscriber_on_one_process_receives_writes_made_through_the_other(fleet: Fleet) -> None:
    # Given a subscriber connected to process A itself
    async with _subscribed(fleet, fleet.a) as subscriber:
        # When a task is created through process B, then another through the balancer
        await _create(fleet, fleet.b.base_url, "written through B")
        through_b = await _delivered(fleet, subscriber)
        await _create(fleet, fleet.balancer.base_url, "written through the balancer")
        through_balancer = await _delivered(fleet, subscriber)
    # Then the subscriber on A received both events, each once
    assert through_balancer > through_b > 0
    assert {through_b, through_balancer} <= set(subscriber.received)
    assert subscriber.duplicates() == 0, subscriber.received


async def test_an_idempotency_key_holds_across_processes(fleet: Fleet) -> None:
    # Given one taskCreate and one Idempotency-Key
    key, title = str(uuid.uuid4()), f"once {uuid.uuid4().hex[:8]}"
    # When it is sent to process A, then the same to process B
    first = await _create(fleet, fleet.a.base_url, title, key)
    second = await _create(fleet, fleet.b.base_url, title, key)
    # Then both answers name the same task, and the database holds it once
    assert second["task"]["id"] == first["task"]["id"]
    counted = await ledgers.settle(fleet.database_url, fleet.project_id, title, [], [])
    assert counted.persisted == 1


def _register_spend(fleet: Fleet, directory: Path) -> None:
    """With the command an operator runs (`make documents`), against the fleet's database."""
    manifest = directory / "manifest.json"
    manifest.write_bytes(orjson.dumps({SPEND_ID: SPEND}))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")} | fleet.variables
    command = [sys.executable, "-m", "schema", "documents", str(manifest), "--client", "fleet"]
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True)  # noqa: S603 - our interpreter


async def _spend(http: httpx.AsyncClient, key: str) -> httpx.Response:
    return await http.post("/graphql", json={"documentId": SPEND_ID}, headers={"x-api-key": key})


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_a_budget_spent_through_one_process_is_spent_on_the_other(fleet: Fleet, tmp_path: Path) -> None:
    # Given an API key whose cost bucket (in Redis) holds a few requests of a trusted document
    await asyncio.to_thread(_register_spend, fleet, tmp_path)
    async with httpx.AsyncClient(base_url=fleet.a.base_url, timeout=10) as http:
        made = (await http.post("/graphql", json={"query": CREATE_KEY}, headers=fleet.headers())).json()
    key = made["data"]["apiKeyCreateV2"]["key"]
    async with (
        httpx.AsyncClient(base_url=fleet.a.base_url, timeout=10) as a,
        httpx.AsyncClient(base_url=fleet.b.base_url, timeout=10) as b,
    ):
        first = await _spend(b, key)
        assert first.status_code == 200, first.text  # B serves it while the bucket holds
        # When the rest of the bucket is spent through process A
        served_by_a = 0
        while (answer := await _spend(a, key)).status_code == 200:
            served_by_a += 1
            assert served_by_a < API_KEY_BUCKET, "process A never ran the bucket dry"
        assert (answer.status_code, _code(answer)) == (429, "RATE_LIMITED")
        # Then process B refuses the key too
        refused = await _spend(b, key)
    assert (refused.status_code, _code(refused)) == (429, "RATE_LIMITED"), refused.text
    assert refused.headers.get("retry-after")


def _kill_mid_request(fleet: Fleet) -> None:
    """Polls HAProxy's count of A's requests in progress (a write is there for milliseconds) and
    kills A the moment it holds one; in a thread, so the writer's event loop keeps sending."""
    deadline = time.monotonic() + MID_REQUEST_SECONDS
    while fleet.balancer.sessions()["a"] == 0 and time.monotonic() < deadline:
        pass
    fleet.a.kill()


async def test_a_process_killed_mid_run_loses_no_acknowledged_write(fleet: Fleet) -> None:
    # Given writes through the balancer at a steady rate, each with its own key, retried with it
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=fleet.balancer.base_url) as http:
        writer = Writer(http, fleet.token, fleet.project_id, run)
        stop = asyncio.Event()
        writing = asyncio.create_task(writer.run(WRITE_RATE, stop))
        await asyncio.sleep(1.5)
        # When process A is killed while it is serving a write
        await asyncio.to_thread(_kill_mid_request, fleet)
        killed_at = time.monotonic()
        await asyncio.to_thread(fleet.balancer.until_status, {"a": "DOWN", "b": "UP"}, DOWN_SECONDS)
        await asyncio.sleep(2.0)
        stop.set()
        await writing
        await writer.drain()
    # Then every acknowledged write is in the database exactly once, and none was given up
    ledger = await ledgers.settle(fleet.database_url, fleet.project_id, title_prefix(run), writer.writes, [])
    report = f"{ledger}\n{[(w.title, w.refused) for w in writer.writes if w.refused]}"
    assert ledger.acknowledged == len(writer.writes) > 0, report
    # (a write cut short by the kill is retried under its key; whether one was in flight at that very
    # instant is a race with its commit, which tests/perf/test_chaos.py pins down: not asserted here)
    assert (ledger.lost, ledger.duplicated, ledger.persisted) == (0, 0, ledger.acknowledged), report
    # And the writes sent after the kill were served, by B alone
    after = [w for w in writer.writes if w.started > killed_at]
    assert after, report
    assert all(w.acknowledged_at is not None for w in after), report
    assert fleet.b.process.poll() is None
