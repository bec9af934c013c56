"""The outbox relay: committed events reach Redis pub/sub, a sweep finds what was left behind, and a
server killed between commit and publish loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy import select

from perf.shared.server_process import start_server
from persistence.models import Event
from persistence.models.base import utcnow
from persistence.pubsub import project_channel
from persistence.queries.events import NewEvent, insert_event
from persistence.queries.projects import project_audience
from persistence.queries.records import task_record
from persistence.queries.scope import Scope
from persistence.queries.tasks import EVERYTHING, task_row_from_json, tasks_by_ids
from persistence.seed import SeededOrganization
from persistence.statements import count_statements
from resolvers.context import Services
from schema.core.ids import encode_id
from schema.tasks.types import Task
from tests import services as test_services
from tests.conftest import PASSWORD
from tests.relays import own_relay

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
_events = Event.__table__


@pytest.fixture
async def listener(services: Services) -> AsyncIterator[Callable[[int], Awaitable[PubSub]]]:
    opened: list[PubSub] = []

    async def listen(project_id: int) -> PubSub:
        pubsub = services.cache.redis.pubsub()
        await pubsub.subscribe(project_channel(test_services.CHANNEL_PREFIX, project_id))
        await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
        opened.append(pubsub)
        return pubsub

    yield listen
    for pubsub in opened:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


async def messages(pubsub: PubSub, count: int, within: float = 10.0) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while len(received) < count and asyncio.get_running_loop().time() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is not None:
            received.append(orjson.loads(message["data"]))
    return received


async def _unpublished_event(services: Services, org: SeededOrganization, age_seconds: float) -> int:
    """An event as a crash leaves it: committed, never published."""
    async with services.db.unit_of_work() as conn:
        event = NewEvent(
            org.organization_id, org.project_ids[0], org.task_ids[0], org.user_ids[0], "task.updated", {}
        )
        event_id, _ = await insert_event(conn, event, utcnow() - timedelta(seconds=age_seconds))
    return event_id


async def _published_at(services: Services, event_id: int) -> Any:
    async with services.db.read() as conn:
        return await conn.scalar(select(_events.c.published_at).where(_events.c.id == event_id))


async def test_the_sweep_publishes_what_was_left_behind_once(
    services: Services, make_org: MakeOrg, listener: Callable[[int], Awaitable[PubSub]]
) -> None:
    # Given two committed events no one published, one older than the grace period, one brand new
    org = await make_org()
    pubsub = await listener(org.project_ids[0])
    old = await _unpublished_event(services, org, age_seconds=60)
    fresh = await _unpublished_event(services, org, age_seconds=0)
    relay = own_relay(services)
    # When the sweep runs (twice)
    await relay.publish(None)
    await relay.publish(None)
    # Then the old one went out exactly once and is marked; the fresh one is still the writer's to publish
    received = await messages(pubsub, 2, within=1.0)
    assert [m["event_id"] for m in received] == [old]
    assert received[0]["project_id"] == org.project_ids[0]
    assert await _published_at(services, old) is not None
    assert await _published_at(services, fresh) is None
    await relay.publish([fresh])
    assert [m["event_id"] for m in await messages(pubsub, 1)] == [fresh]


async def test_with_redis_down_events_wait_for_the_next_sweep(services: Services, make_org: MakeOrg) -> None:
    org = await make_org()
    event_id = await _unpublished_event(services, org, age_seconds=60)
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    relay = own_relay(services, redis=dead, grace_seconds=0)
    assert await relay.publish([event_id]) == 0
    assert await _published_at(services, event_id) is None
    await dead.aclose()


async def test_a_server_killed_between_commit_and_publish_loses_nothing(
    services: Services, make_org: MakeOrg, listener: Callable[[int], Awaitable[PubSub]], tmp_path: Path
) -> None:
    org = await make_org()
    environment = {
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_RELAY_SWEEP_INTERVAL_SECONDS": "3600",
    }
    # Given a server whose relay holds commits back for a minute before publishing them
    doomed = start_server(
        tmp_path / "doomed.log", {**environment, "TASKQL_RELAY_PUBLISH_DELAY_SECONDS": "60"}
    )
    pubsub = await listener(org.project_ids[0])
    async with httpx.AsyncClient(base_url=doomed.base_url, timeout=10) as http:
        login = await http.post(
            "/graphql",
            json={
                "query": "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) "
                "{ accessToken } }",
                "variables": {"e": org.owner_email, "p": PASSWORD},
            },
        )
        token = login.json()["data"]["authLogin"]["accessToken"]
        create = await http.post(
            "/graphql",
            headers={"authorization": f"Bearer {token}"},
            json={
                "query": "mutation($i: TaskCreateInput!) "
                "{ taskCreate(input: $i) { task { id } errors { code } } }",
                "variables": {
                    "i": {"projectId": encode_id("Project", org.project_ids[0]), "title": "survives"}
                },
            },
        )
    assert create.json()["data"]["taskCreate"]["errors"] == []
    # When it is killed after the commit, before the publish
    doomed.kill()
    async with services.db.read() as conn:
        event = (
            await conn.execute(
                select(_events)
                .where(_events.c.project_id == org.project_ids[0])
                .order_by(_events.c.id.desc())
                .limit(1)
            )
        ).one()
    assert event.type == "task.created"
    assert event.published_at is None
    assert await messages(pubsub, 1, within=0.5) == []
    # Then a server started afterwards publishes it with its sweep
    sweeper = start_server(
        tmp_path / "sweeper.log",
        {
            **environment,
            "TASKQL_RELAY_SWEEP_INTERVAL_SECONDS": "0.2",
            "TASKQL_RELAY_SWEEP_GRACE_SECONDS": "0",
        },
    )
    try:
        received = await messages(pubsub, 1, within=15)
    finally:
        sweeper.stop()
    assert [(m["event_id"], m["type"], m["sequence"]) for m in received] == [
        (event.id, "task.created", event.sequence)
    ]
    assert await _published_at(services, event.id) is not None


async def test_the_message_carries_who_may_see_the_project_and_the_task_as_it_is(
    services: Services, make_org: MakeOrg, listener: Callable[[int], Awaitable[PubSub]]
) -> None:
    """So that no process with subscribers has to read them again (persistence/snapshots.py)."""
    org = await make_org()
    project_id, task_id = org.project_ids[0], org.task_ids[0]
    pubsub = await listener(project_id)
    event_id = await _unpublished_event(services, org, age_seconds=0)
    relay = own_relay(services)
    await relay.publish([event_id])
    (message,) = await messages(pubsub, 1)
    snapshot = message["snapshot"]
    async with services.db.read() as conn:
        audience = await project_audience(conn, project_id)
        (row,) = await tasks_by_ids(conn, Scope(org.organization_id, 0, True), [task_id], EVERYTHING)
    assert audience is not None
    assert snapshot["audience"] == {
        "organization_id": org.organization_id,
        "member_ids": sorted(audience.member_ids),
    }
    # Decoded, the carried task is the row the database gives, value for value and type for type.
    carried = task_row_from_json(snapshot["task"])
    assert carried._mapping.keys() == dict(row._mapping).keys()
    for name, value in row._mapping.items():
        assert getattr(carried, name) == value, name
        assert type(getattr(carried, name)) is type(value), name
    # And the schema builds the same Task from either.
    assert Task.from_record(task_record(carried, EVERYTHING)) == Task.from_record(
        task_record(row, EVERYTHING)
    )


async def test_an_event_nobody_watches_carries_no_snapshot_and_costs_no_read_for_one(
    services: Services, make_org: MakeOrg, listener: Callable[[int], Awaitable[PubSub]]
) -> None:
    org = await make_org()
    unwatched = await _unpublished_event(services, org, age_seconds=0)
    with count_statements() as alone:
        assert await own_relay(services).publish([unwatched]) == 1
    pubsub = await listener(org.project_ids[0])
    watched = await _unpublished_event(services, org, age_seconds=0)
    with count_statements() as watched_count:
        assert await own_relay(services).publish([watched]) == 1
    (message,) = await messages(pubsub, 1)
    assert message["event_id"] == watched
    assert message["snapshot"] is not None
    # The audiences come with the batch's one read (there either way: a webhook may want the event),
    # the tasks are one statement more, only when someone listens.
    assert watched_count.count == alone.count + 1, (alone.statements, watched_count.statements)
