"""Notifications derived by the relay: who an assignment or a mention notifies (and who it must not),
once per event and recipient however often the relay runs, in a bounded number of statements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy import select, update

from persistence.models import Event
from persistence.models.base import utcnow
from persistence.pubsub import project_channel, user_channel
from persistence.queries.events import NewEvent, insert_event
from persistence.statements import count_statements
from resolvers.context import Services
from schema.core.ids import decode_id, encode_id
from tests import services as test_services
from tests.conftest import GraphQLClient
from tests.notification_crew import (
    Crew,
    MakeOrg,
    last_event_id,
    make_crew,
    notifications_of,
    notifications_of_events,
    until_published,
)
from tests.persistence.test_relay import messages
from tests.relay_batches import unpublished_batch
from tests.relays import own_relay

ASSIGN = """
mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code message } } }"""
CREATE_TASK = """
mutation($i: TaskCreateInput!) { taskCreate(input: $i) { task { id } errors { code message } } }"""
COMMENT = """
mutation($i: CommentCreateInput!) { commentCreate(input: $i) { comment { id } errors { code message } } }"""
VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


@pytest.fixture
async def inbox(services: Services) -> AsyncIterator[Any]:
    """Subscribes users' channels directly on Redis (what the relay publishes, undecoded by a hub)."""
    opened: list[PubSub] = []

    async def listen(user_id: int) -> PubSub:
        pubsub = services.cache.redis.pubsub()
        await pubsub.subscribe(user_channel(test_services.CHANNEL_PREFIX, user_id))
        await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
        opened.append(pubsub)
        return pubsub

    yield listen
    for pubsub in opened:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


async def _assign(services: Services, crew: Crew, who: str, assignee: str) -> int:
    """``who`` assigns the crew's task to ``assignee``; the event's id, once the relay published it."""
    client, task_gid = crew.clients[who], encode_id("Task", crew.task_id)
    version = (await client.run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assignee_gid = encode_id("User", crew.ids[assignee])
    result = await client.run(ASSIGN, {"i": {"id": task_gid, "version": version, "assigneeId": assignee_gid}})
    assert result["data"]["taskAssign"]["errors"] == [], result
    event_id = await last_event_id(services, crew.task_id)
    await until_published(services, event_id)
    return event_id


async def _comment(services: Services, crew: Crew, who: str, body: str) -> tuple[int, int]:
    """``who`` comments on the crew's task; (event id, comment id), once the relay published it."""
    variables = {"i": {"taskId": encode_id("Task", crew.task_id), "body": body}}
    result = await crew.clients[who].run(COMMENT, variables)
    assert result["data"]["commentCreate"]["errors"] == [], result
    comment_id = decode_id(result["data"]["commentCreate"]["comment"]["id"], "Comment")
    event_id = await last_event_id(services, crew.task_id)
    await until_published(services, event_id)
    return event_id, comment_id


def _recipients(rows: list[Any], crew: Crew) -> set[str]:
    names = {user_id: name for name, user_id in crew.ids.items()}
    return {names.get(row.user_id, f"user {row.user_id}") for row in rows}


# --- assignments --------------------------------------------------------------------------------


async def test_assigning_a_task_notifies_the_new_assignee_once(services: Services, crew: Crew) -> None:
    # When the author assigns the task to a colleague
    event_id = await _assign(services, crew, "author", "colleague")
    # Then the colleague, and nobody else, has one ASSIGNED notification of that event
    rows = await notifications_of_events(services, [event_id])
    assert _recipients(rows, crew) == {"colleague"}
    row = rows[0]
    assert (row.kind, row.task_id, row.actor_id, row.comment_id, row.read_at) == (
        "assigned",
        crew.task_id,
        crew.ids["author"],
        None,
        None,
    )
    assert row.organization_id == crew.org.organization_id


async def test_assigning_oneself_notifies_nobody(services: Services, crew: Crew) -> None:
    event_id = await _assign(services, crew, "author", "author")
    assert await notifications_of_events(services, [event_id]) == []


async def test_creating_a_task_with_an_assignee_notifies_the_assignee(services: Services, crew: Crew) -> None:
    # When the author creates a task assigned to a colleague
    variables = {
        "i": {
            "projectId": encode_id("Project", crew.project_id),
            "title": "for you",
            "assigneeId": encode_id("User", crew.ids["colleague"]),
        }
    }
    result = await crew.clients["author"].run(CREATE_TASK, variables)
    assert result["data"]["taskCreate"]["errors"] == [], result
    task_id = decode_id(result["data"]["taskCreate"]["task"]["id"], "Task")
    event_id = await last_event_id(services, task_id)
    await until_published(services, event_id)
    # Then the assignee is notified of the new task, and its creator is not
    rows = await notifications_of_events(services, [event_id])
    assert [(row.user_id, row.kind, row.task_id) for row in rows] == [
        (crew.ids["colleague"], "assigned", task_id)
    ]


# --- mentions -----------------------------------------------------------------------------------


async def test_a_comment_notifies_the_people_it_mentions_who_may_read_the_task(
    services: Services, crew: Crew
) -> None:
    # Given a comment that mentions everyone around the task, the author too, and an unknown address
    mentioned = ["colleague", "reader", "admin", "outsider", "gone", "foreigner", "author"]
    body = "Please look, " + ", ".join(f"@{crew.emails[name].upper()}" for name in mentioned)
    body += " and @nobody@nowhere.test."
    # When the author posts it
    event_id, comment_id = await _comment(services, crew, "author", body)
    # Then only those who may read the task are notified: editors, viewers, organization admins;
    # not the author, not a member outside the project, not a deactivated user, not another
    # organization's user (whose address the author knows)
    rows = await notifications_of_events(services, [event_id])
    assert _recipients(rows, crew) == {"colleague", "reader", "admin"}
    assert {(row.kind, row.comment_id, row.actor_id, row.task_id) for row in rows} == {
        ("mentioned", comment_id, crew.ids["author"], crew.task_id)
    }
    for name in ("outsider", "gone", "foreigner", "author"):
        assert await notifications_of(services, crew.ids[name]) == [], name


async def test_a_mention_twice_in_one_comment_notifies_once(services: Services, crew: Crew) -> None:
    email = crew.emails["colleague"]
    event_id, _ = await _comment(services, crew, "author", f"@{email} and again @{email}")
    assert len(await notifications_of_events(services, [event_id])) == 1


# --- at least once, inserted once ---------------------------------------------------------------


async def test_deriving_an_event_again_inserts_nothing_and_republishes_the_same_notification(
    services: Services, crew: Crew, inbox: Any
) -> None:
    # Given an assignment the relay published, with its notification
    event_id = await _assign(services, crew, "author", "colleague")
    first = await notifications_of_events(services, [event_id])
    assert len(first) == 1
    # When the event is published again (as by a second relay that saw it unpublished)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Event).where(Event.id == event_id).values(published_at=None))
    pubsub = await inbox(crew.ids["colleague"])
    assert await own_relay(services, grace_seconds=0).publish([event_id]) == 1
    # Then no second notification is made, and the one there is goes out again, with its id
    assert await notifications_of_events(services, [event_id]) == first
    received = await messages(pubsub, 2, within=1.0)
    assert [(m["notification_id"], m["kind"], m["event_id"], m["task_id"]) for m in received] == [
        (first[0].id, "assigned", event_id, crew.task_id)
    ]
    assert received[0]["user_id"] == crew.ids["colleague"]
    assert received[0]["actor_id"] == crew.ids["author"]


async def _unpublished_assignment(services: Services, crew: Crew, assignee: str) -> int:
    """An assignment's event as a crash leaves it: committed, never published."""
    async with services.db.unit_of_work() as conn:
        event = NewEvent(
            crew.org.organization_id,
            crew.project_id,
            crew.task_id,
            crew.ids["author"],
            "task.assigned",
            {"changes": {"assignee_id": crew.ids[assignee]}},
        )
        event_id, _ = await insert_event(conn, event, utcnow())
    return event_id


async def test_a_publish_that_fails_leaves_the_event_and_its_notifications_to_the_next_attempt(
    services: Services, crew: Crew, inbox: Any
) -> None:
    # Given an unpublished assignment, and a relay whose Redis is down
    event_id = await _unpublished_assignment(services, crew, "colleague")
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    # When it tries to publish
    assert await own_relay(services, redis=dead, grace_seconds=0).publish([event_id]) == 0
    await dead.aclose()
    # Then neither the notification nor the published mark was kept
    assert await notifications_of_events(services, [event_id]) == []
    async with services.db.read() as conn:
        assert await conn.scalar(select(Event.published_at).where(Event.id == event_id)) is None
    # And the next attempt derives it once and publishes it
    pubsub = await inbox(crew.ids["colleague"])
    assert await own_relay(services, grace_seconds=0).publish([event_id]) == 1
    rows = await notifications_of_events(services, [event_id])
    assert _recipients(rows, crew) == {"colleague"}
    assert [m["notification_id"] for m in await messages(pubsub, 1)] == [rows[0].id]


# --- the relay's statements ---------------------------------------------------------------------


async def test_a_batch_costs_the_relay_the_same_few_statements_whatever_its_size(
    services: Services, crew: Crew
) -> None:
    # Someone watches the project, so the relay also reads what it carries to subscribers.
    watcher = services.cache.redis.pubsub()
    await watcher.subscribe(project_channel(test_services.CHANNEL_PREFIX, crew.project_id))
    await watcher.get_message(timeout=1.0)  # the subscription's confirmation
    counts = []
    for size in (1, 12):
        # Given a batch of assignments and comments with mentions
        ids = await unpublished_batch(services, crew, size, size)
        # When the relay publishes it
        with count_statements() as counter:
            assert await own_relay(services, grace_seconds=0).publish(ids) == 2 * size
        counts.append(counter.count)
        # Then each assignment made one notification and each comment two
        rows = await notifications_of_events(services, ids)
        assert len(rows) == 3 * size
    # Then the statements are the same for 1 and for 12 events, and few: the events (locked), the
    # batch's one read (persistence/batch_reads.py: the comments' bodies, whether the assignee may
    # read, the webhook endpoints that may want the events, none here, so no insert, the project's
    # audience), who of those mentioned may read, the insert (which returns the rows), the task
    # carried to subscribers (persistence/snapshots.py), the published mark; then, after the commit
    # and the hand-over, the notifications marked enqueued (one UPDATE)
    assert counts[0] == counts[1] == 7, counts
    await watcher.unsubscribe()
    await watcher.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
