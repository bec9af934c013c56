"""Load shedding (schema/guard/admission.py): the slots themselves, then a real server that runs one request
at a time, holding it on a MariaDB row lock while others arrive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from perf.shared.server_process import ServerProcess, start_server
from persistence.models import Task
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import encode_id
from schema.core.request import RequestError
from schema.guard.admission import Admission
from tests.conftest import PASSWORD
from tests.schema.ops_helpers import server_environment
from tests.scrape import sample

# --- the slots ------------------------------------------------------------------------------------


async def hold(admission: Admission, release: asyncio.Event, order: list[str], name: str) -> None:
    async with admission.slot():
        order.append(name)
        await release.wait()


async def test_a_request_waits_for_a_slot_in_arrival_order() -> None:
    # Given two slots, both taken
    admission = Admission(max_in_flight=2, max_waiting=5, wait_seconds=5)
    release, order = asyncio.Event(), list[str]()
    holders = [asyncio.create_task(hold(admission, release, order, f"holder{i}")) for i in range(2)]
    await asyncio.sleep(0)
    assert admission.in_flight == 2
    # When two more arrive, they wait
    waiters = [asyncio.create_task(hold(admission, asyncio.Event(), order, f"waiter{i}")) for i in range(2)]
    await asyncio.sleep(0.05)
    assert admission.waiting == 2
    assert order == ["holder0", "holder1"]
    # Then the slots the holders free go to the waiters, the first come first
    release.set()
    await asyncio.gather(*holders)
    await asyncio.sleep(0)
    assert order == ["holder0", "holder1", "waiter0", "waiter1"]
    assert admission.in_flight == 2
    assert admission.waiting == 0
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    # And every slot is free again
    assert admission.in_flight == 0


async def test_a_full_queue_refuses_at_once_and_a_long_wait_refuses_in_time() -> None:
    # Given one slot, taken, and one request already waiting
    admission = Admission(max_in_flight=1, max_waiting=1, wait_seconds=0.3)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(admission, release, [], "holder"))
    await asyncio.sleep(0)
    started = time.monotonic()
    waiter = asyncio.create_task(hold(admission, asyncio.Event(), [], "waiter"))
    await asyncio.sleep(0)
    # When one more arrives, it is refused at once: 503 OVERLOADED, with when to come back
    with pytest.raises(RequestError) as refused:
        async with admission.slot():
            pytest.fail("admitted past a full queue")
    assert time.monotonic() - started < 0.2
    assert (refused.value.status, refused.value.code) == (503, "OVERLOADED")
    assert refused.value.headers == {"Retry-After": "1"}
    # And the one waiting is refused once its wait is over, the slot still taken
    with pytest.raises(RequestError) as timed_out:
        await waiter
    assert 0.25 < time.monotonic() - started < 2
    assert timed_out.value.code == "OVERLOADED"
    # Then nothing leaked: the holder's slot is the only one, and free once it is done
    assert (admission.in_flight, admission.waiting) == (1, 0)
    release.set()
    await holder
    assert admission.in_flight == 0


async def test_a_waiter_that_goes_away_leaves_no_slot_behind() -> None:
    # Given one slot, taken, and a request waiting for it
    admission = Admission(max_in_flight=1, max_waiting=5, wait_seconds=5)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(admission, release, [], "holder"))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold(admission, asyncio.Event(), [], "waiter"))
    await asyncio.sleep(0)
    # When its client goes away (the task is cancelled) and the holder finishes
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    release.set()
    await holder
    # Then the slot is free, not handed to the request that left
    assert (admission.in_flight, admission.waiting) == (0, 0)
    async with admission.slot():
        assert admission.in_flight == 1


# --- a real server --------------------------------------------------------------------------------

RENAME = """
mutation Rename($input: TaskUpdateInput!) { taskUpdate(input: $input) { task { title } errors { code } } }"""
VIEWER = "query Viewer { viewer { user { id } } }"
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"


@pytest.fixture(scope="module")
def one_at_a_time(
    database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server process with one slot, one place in the queue and 300 ms of waiting."""
    environment = server_environment() | {
        "TASKQL_MAX_REQUESTS_IN_FLIGHT": "1",
        "TASKQL_MAX_REQUESTS_WAITING": "1",
        "TASKQL_ADMISSION_WAIT_MS": "300",
    }
    running = start_server(Path(tmp_path_factory.mktemp("admission")) / "server.log", environment)
    yield running
    running.stop()


@pytest.fixture
async def http(one_at_a_time: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=one_at_a_time.base_url, timeout=30) as client:
        yield client


async def run(http: httpx.AsyncClient, token: str, query: str, variables: Any = None) -> httpx.Response:
    body = {"query": query, "variables": variables or {}}
    return await http.post("/graphql", json=body, headers={"authorization": f"Bearer {token}"})


async def renames_running(services: Services) -> int:
    async with services.db.read() as conn:
        count = (
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE tasks SET title%%'"
        )
        return int((await conn.execute(text(count))).scalar_one())


async def test_a_server_at_capacity_sheds_requests_fast_and_changes_nothing(
    services: Services, make_org: Any, http: httpx.AsyncClient, one_at_a_time: ServerProcess
) -> None:
    org: SeededOrganization = await make_org()
    login = await http.post(
        "/graphql", json={"query": LOGIN, "variables": {"e": org.owner_email, "p": PASSWORD}}
    )
    token = login.json()["data"]["authLogin"]["accessToken"]
    task_id = org.task_ids[0]
    async with services.db.read() as conn:
        version = (await conn.execute(select(Task.version).where(Task.id == task_id))).scalar_one()

    def rename(title: str) -> dict[str, Any]:
        return {"input": {"id": encode_id("Task", task_id), "version": version, "title": title}}

    # Given the server's one slot taken by a rename that waits on a row lock the test holds
    async with services.db.engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(select(Task.id).where(Task.id == task_id).with_for_update())
        first = asyncio.create_task(run(http, token, RENAME, rename("first")))
        deadline = time.monotonic() + 10
        while await renames_running(services) == 0:
            assert time.monotonic() < deadline, (await first).text if first.done() else "never locked"
            await asyncio.sleep(0.02)
        # And a second request waiting for the slot
        queued = asyncio.create_task(run(http, token, VIEWER))
        await asyncio.sleep(0.05)
        # When a third request, a rename too, finds the queue full
        shed = await run(http, token, RENAME, rename("shed"))
        # Then it is answered 503 OVERLOADED at once, while the first still holds the slot
        assert not first.done()
        assert shed.status_code == 503, shed.text
        assert shed.headers["retry-after"] == "1"
        assert shed.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
        # And the waiting request is refused the same way once its 300 ms are up
        timed_out = await queued
        assert timed_out.status_code == 503, timed_out.text
        assert not first.done()
        await transaction.rollback()
    # Then the first rename goes through once the lock is gone, and the server serves again
    done = await first
    assert done.status_code == 200, done.text
    assert done.json()["data"]["taskUpdate"]["task"]["title"] == "first"
    after = await run(http, token, VIEWER)
    assert after.status_code == 200, after.text
    # And the shed rename changed nothing
    async with services.db.read() as conn:
        title = (await conn.execute(select(Task.title).where(Task.id == task_id))).scalar_one()
    assert title == "first"
    # And /metrics counts both refusals by their reason
    metrics = (await http.get("/metrics")).text
    assert sample(metrics, "graphql_requests_shed_total", reason="queue_full") >= 1
    assert sample(metrics, "graphql_requests_shed_total", reason="wait_timeout") >= 1
    assert sample(metrics, "http_requests_total", route="/graphql", status="503") >= 2


async def test_a_client_sending_its_body_slowly_holds_no_slot(
    make_org: Any, http: httpx.AsyncClient, one_at_a_time: ServerProcess
) -> None:
    org: SeededOrganization = await make_org()
    variables = {"e": org.owner_email, "p": PASSWORD}
    login = await http.post("/graphql", json={"query": LOGIN, "variables": variables})
    token = login.json()["data"]["authLogin"]["accessToken"]
    # Given a client that sent its headers and part of its body, then stalls
    url = httpx.URL(one_at_a_time.base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    body = b'{"query": "{ __typename }"}'
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[:10])
    await writer.drain()
    await asyncio.sleep(0.3)  # its request is in the server's hands, waiting for the rest
    try:
        # When another client asks, with the server's one slot
        started = time.monotonic()
        response = await run(http, token, VIEWER)
        # Then it is answered, and without waiting for the slow one
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 0.3
        # And the slow client is answered too once its body is complete
        writer.write(body[10:])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        assert status_line.startswith(b"HTTP/1.1 200"), status_line
    finally:
        writer.close()
