"""The raw app's write (perf/bench/raw_app.py), the baseline of `make bench`'s write pair: what it
writes for one request, in one transaction, handed to the relay, and what it refuses to write; and
the bench's count of what writes left in the rows (perf/bench/write_check.py)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from perf.bench.raw_app import create_raw_app
from perf.bench.write_check import Written, mismatch, snapshot, written_since
from perf.bench.writes import RAW, write_request, written_version
from persistence.models import Event, Task, User
from persistence.pubsub import project_channel
from persistence.seed import SeededOrganization
from persistence.statements import count_statements
from resolvers.context import Services
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
_events, _tasks, _users = Event.__table__, Task.__table__, User.__table__


@pytest.fixture
async def raw(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_raw_app(services=services), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://raw.test") as http:
        yield http


async def _task(services: Services, task_id: int) -> Any:
    async with services.db.read() as conn:
        statement = select(_tasks.c.version, _tasks.c.title, _tasks.c.project_id).where(
            _tasks.c.id == task_id
        )
        return (await conn.execute(statement)).one()


async def _updates(services: Services, task_id: int) -> list[Any]:
    async with services.db.read() as conn:
        statement = select(_events).where(_events.c.task_id == task_id, _events.c.type == "task.updated")
        return list((await conn.execute(statement)).all())


async def _signed_in(gql: GraphQLClient, raw: httpx.AsyncClient, org: SeededOrganization) -> dict[str, str]:
    """The owner's headers, with the session already cached (as in every request of the bench)."""
    headers = {"Authorization": f"Bearer {await gql.login(org.owner_email)}"}
    warmed = await raw.get(f"/raw/tasks/{encode_id('Task', org.task_ids[0])}", headers=headers)
    assert warmed.status_code == 200, warmed.text
    return headers


async def _post(
    raw: httpx.AsyncClient, headers: dict[str, str], task_id: int, version: int, title: str, key: str
) -> httpx.Response:
    request = write_request(RAW, encode_id("Task", task_id), version, title)
    return await raw.post(request.path, content=request.body, headers={**headers, "Idempotency-Key": key})


async def test_a_write_updates_the_task_and_appends_its_event_handed_to_the_relay(
    services: Services, raw: httpx.AsyncClient, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given the owner and a task at its current version, and a subscriber of the task's project
    org = await make_org()
    headers = await _signed_in(gql, raw, org)
    task_id = org.task_ids[1]
    before = await _task(services, task_id)
    pubsub = services.cache.redis.pubsub()
    await pubsub.subscribe(project_channel(test_services.CHANNEL_PREFIX, before.project_id))
    await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    try:
        # When the raw app writes a new title with an Idempotency-Key
        with count_statements() as counted:
            response = await _post(raw, headers, task_id, before.version, "  Ship it  ", "key-1")
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped

    # Then it answers as taskUpdate does, with the next version
    assert response.status_code == 200, response.text
    gid = encode_id("Task", task_id)
    assert response.json() == {
        "data": {"taskUpdate": {"task": {"id": gid, "version": before.version + 1}, "errors": []}}
    }
    assert written_version(response.status_code, response.content) == before.version + 1
    # And two statements wrote it: the guarded UPDATE, then the event's INSERT
    assert [s.split(None, 1)[0] for s in counted.statements] == ["UPDATE", "INSERT"]
    after = await _task(services, task_id)
    assert (after.version, after.title) == (before.version + 1, "Ship it")
    # And exactly one event, keyed and hashed as the server keys a taskUpdate's event
    async with services.db.read() as conn:
        owner_id = await conn.scalar(select(_users.c.id).where(_users.c.email == org.owner_email))
    (event,) = await _updates(services, task_id)
    assert event.idempotency_key == f"user:{owner_id}:{hashlib.sha256(b'key-1').hexdigest()}"
    sent = write_request(RAW, gid, before.version, "  Ship it  ").body
    assert event.payload == {"changes": {"title": "Ship it"}, "request": hashlib.sha256(sent).hexdigest()}
    assert (event.organization_id, event.project_id, event.actor_id) == (
        org.organization_id,
        before.project_id,
        owner_id,
    )
    # And the relay published it (the suite's relay never sweeps: the endpoint handed it over)
    assert message is not None
    assert orjson.loads(message["data"])["event_id"] == event.id


async def test_a_stale_version_is_refused_without_writing(
    services: Services, raw: httpx.AsyncClient, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a task one write past the version the client read
    org = await make_org()
    headers = await _signed_in(gql, raw, org)
    task_id = org.task_ids[2]
    read = (await _task(services, task_id)).version
    assert (await _post(raw, headers, task_id, read, "First", "key-a")).status_code == 200
    # When a second write names the version read before the first
    with count_statements() as counted:
        response = await _post(raw, headers, task_id, read, "Second", "key-b")
    # Then it is refused after the UPDATE alone, and nothing of it is written
    assert response.status_code == 409
    assert response.json()["data"]["taskUpdate"] == {"task": None, "errors": [{"code": "CONFLICT"}]}
    assert written_version(response.status_code, response.content) is None
    assert [s.split(None, 1)[0] for s in counted.statements] == ["UPDATE"]
    after = await _task(services, task_id)
    assert (after.version, after.title) == (read + 1, "First")
    assert len(await _updates(services, task_id)) == 1


async def test_the_update_and_its_event_commit_together_or_not_at_all(
    services: Services, raw: httpx.AsyncClient, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a write that went through with a key
    org = await make_org()
    headers = await _signed_in(gql, raw, org)
    task_id = org.task_ids[3]
    version = (await _task(services, task_id)).version
    assert (await _post(raw, headers, task_id, version, "Once", "key-x")).status_code == 200
    # When the same key comes with the task's new version: the UPDATE applies, the event's INSERT
    # then breaks the key's unique index
    response = await _post(raw, headers, task_id, version + 1, "Twice", "key-x")
    # Then the transaction rolled back: the task is as the first write left it, with one event
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    after = await _task(services, task_id)
    assert (after.version, after.title) == (version + 1, "Once")
    assert len(await _updates(services, task_id)) == 1


async def test_the_bench_counts_what_the_writes_left_in_the_rows(
    services: Services, raw: httpx.AsyncClient, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a snapshot of two tasks, then three acknowledged writes to them
    org = await make_org()
    headers = await _signed_in(gql, raw, org)
    first, second = org.task_ids[4], org.task_ids[5]
    before = await snapshot(services.db.engine, [first, second])
    for number, task_id in enumerate([first, second, first]):
        version = (await _task(services, task_id)).version
        response = await _post(raw, headers, task_id, version, f"Title {number}", f"count-{number}")
        assert response.status_code == 200, response.text
    # Then the rows show three version steps and three keyed, published events, and only 3 matches
    written = await written_since(services.db.engine, before)
    assert written == Written(version_steps=3, events=3, keyed_events=3, unpublished=0)
    assert mismatch("raw_write", 3, written) is None
    assert mismatch("raw_write", 2, written) is not None
