"""Resumable subscriptions over WebSockets, against a real uvicorn process on MariaDB and Redis:
`taskEvents(afterSequence:)` and `notificationAdded(afterId:)` replay what was committed after the
client's cursor, then go on live with no gap and no duplicate; a gap that cannot be filled is one
RESYNC. Events are real rows (their sequences the project's own); a message "lost" is a row whose
message was never published, as when the relay published into a Redis the server had lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, insert, select

from persistence.enums import NotificationKind
from persistence.models import Event as EventRow
from persistence.models import Notification as NotificationRow
from persistence.models.base import utcnow
from persistence.pubsub import project_channel, user_channel
from persistence.queries.events import NewEvent, insert_task_event
from persistence.relay import notification_message
from resolvers.context import Services
from resolvers.event_replay import REPLAY_LIMIT
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import GraphQLClient
from tests.schema.test_subscriptions import (
    TRANSPORT,
    Client,
    MakeOrg,
    Member,
    Server,
    _start_server,
    make_member,
    publish_task_event,
    sequence_of,
    subscribed,
    wait_for_subscribers,
)

RESUME = """
subscription($projectId: ID!, $after: Int) {
  taskEvents(projectId: $projectId, afterSequence: $after) { type sequence eventId task { id } }
}"""
NOTIFICATIONS = """
subscription($after: ID) { notificationAdded(afterId: $after) { type notification { id kind } } }"""


# A small bound on a connection's unsent frames: a replay must pace itself to it.
QUEUE_FRAMES = 16


@pytest.fixture(scope="module")
def server(database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = {"TASKQL_WS_SEND_QUEUE_FRAMES": str(QUEUE_FRAMES)}
    running = _start_server(tmp_path_factory.mktemp("resume-ws"), redis_url, settings)
    yield running
    running.stop()


@pytest.fixture
async def member(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Member:
    return await make_member(services, gql, await make_org())


async def _resume(client: Client, member: Member, after: int | None, op_id: str = "1") -> None:
    await client.subscribe(
        op_id, RESUME, {"projectId": encode_id("Project", member.project_id), "after": after}
    )


async def _sequences(client: Client, count: int, op_id: str = "1") -> list[int | None]:
    received = []
    for _ in range(count):
        payload = await client.next_data(op_id)
        assert "errors" not in payload, payload
        received.append(payload["data"]["taskEvents"]["sequence"])
    return received


async def _lost_events(services: Services, member: Member, count: int) -> list[int]:
    """``count`` events committed whose messages reached nobody; their sequences."""
    return [
        await sequence_of(services, await publish_task_event(services, None, member)) for _ in range(count)
    ]


async def test_a_resumed_subscription_replays_what_it_missed_then_goes_on_live(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    # Given a client that saw an event, then lost its connection while three more were committed
    seen, *missed = await _lost_events(services, member, 4)
    async with subscribed(server, TRANSPORT, member.token) as client:
        # When it subscribes again after the last sequence it saw
        await _resume(client, member, seen)
        # Then it gets the three, in order, each with its task
        payload = await client.next_data("1")
        assert payload["data"]["taskEvents"]["task"] == {"id": encode_id("Task", member.task_id)}
        assert [payload["data"]["taskEvents"]["sequence"], *await _sequences(client, 2)] == missed
        # And a live event follows, once, with the next sequence
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        await publish_task_event(services, redis, member)
        assert await _sequences(client, 1) == [missed[-1] + 1]
        await client.nothing()


async def test_a_live_event_ahead_of_a_missing_one_waits_for_it(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, member, None)
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        # When one event's message is lost and the next one's arrives
        (lost,) = await _lost_events(services, member, 1)
        await publish_task_event(services, redis, member)
        # Then the subscriber gets both, in order, and nothing twice
        assert await _sequences(client, 2) == [lost, lost + 1]
        await client.nothing()


async def test_a_cursor_beyond_the_newest_event_replays_nothing_and_waits(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    (head,) = await _lost_events(services, member, 1)
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, member, head + 2)
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        await client.nothing()
        # Events up to the cursor are taken as seen; the first after it is delivered
        for _ in range(3):
            await publish_task_event(services, redis, member)
        assert await _sequences(client, 1) == [head + 3]
        await client.nothing()


async def test_a_long_replay_is_paced_to_the_connection_and_arrives_whole(
    server: Server, services: Services, member: Member
) -> None:
    start = await sequence_of(services, await publish_task_event(services, None, member))
    count = QUEUE_FRAMES * 20
    await _append_events(services, member, count)
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, member, start)
        # Every one arrives, in order: the replay waited for the socket rather than being cut off
        assert await _sequences(client, count) == list(range(start + 1, start + count + 1))
        await client.nothing()


async def _append_events(services: Services, member: Member, count: int) -> None:
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        for _ in range(count):
            event = NewEvent(member.org.organization_id, None, member.task_id, None, "task.updated", {})
            await insert_task_event(conn, event, now)


async def test_too_far_behind_is_one_resync_then_live(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    start = await sequence_of(services, await publish_task_event(services, None, member))
    await _append_events(services, member, REPLAY_LIMIT + 1)
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, member, start)
        assert await _sequences(client, 1) == [None]  # RESYNC
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        await publish_task_event(services, redis, member)
        assert await _sequences(client, 1) == [start + REPLAY_LIMIT + 2]
        await client.nothing()


async def test_a_cursor_older_than_what_the_cleanup_kept_gets_resync_first(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    seen, purged, kept = await _lost_events(services, member, 3)
    async with services.db.unit_of_work() as conn:  # as the cleanup does with a purged task's events
        await conn.execute(
            delete(EventRow).where(EventRow.project_id == member.project_id, EventRow.sequence == purged)
        )
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, member, seen)
        payload = await client.next_data("1")
        assert payload["data"]["taskEvents"]["type"] == "RESYNC"
        # The stream goes on after the head at the RESYNC: nothing of what it replaced comes again
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        await publish_task_event(services, redis, member)
        assert await _sequences(client, 1) == [kept + 1]
        await client.nothing()


@pytest.mark.parametrize("after", [-1, -100])
async def test_a_negative_cursor_is_bad_user_input(
    server: Server, services: Services, member: Member, after: int
) -> None:
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, member, after)
        message = await client.receive()
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]


async def test_a_project_one_cannot_see_replays_nothing(
    server: Server, services: Services, member: Member
) -> None:
    hidden = Member(member.org, member.user_id, member.token, member.hidden_project_id, 0, member.task_id)
    async with subscribed(server, TRANSPORT, member.token) as client:
        await _resume(client, hidden, 0)
        message = await client.receive()
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["NOT_FOUND"]
        await client.nothing()


# --- notificationAdded(afterId:) ----------------------------------------------------------------


async def _notify(services: Services, member: Member, count: int) -> list[Any]:
    """``count`` notifications of the member, committed; their rows."""
    rows = []
    for _ in range(count):
        event_id = await publish_task_event(services, None, member)
        async with services.db.unit_of_work() as conn:
            values = {
                "organization_id": member.org.organization_id,
                "user_id": member.user_id,
                "kind": NotificationKind.ASSIGNED,
                "event_id": event_id,
                "task_id": member.task_id,
                "created_at": utcnow(),
            }
            inserted = await conn.execute(insert(NotificationRow).values(**values))
            assert inserted.inserted_primary_key is not None
            notification_id = inserted.inserted_primary_key[0]
            table = NotificationRow.__table__
            rows.append((await conn.execute(select(table).where(table.c.id == notification_id))).one())
    return rows


async def _notification_ids(client: Client, count: int) -> list[str | None]:
    received = []
    for _ in range(count):
        payload = await client.next_data("n")
        assert "errors" not in payload, payload
        event = payload["data"]["notificationAdded"]
        received.append(None if event["notification"] is None else event["notification"]["id"])
    return received


async def test_notifications_resume_after_the_last_one_seen_then_go_on_live(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    seen, *missed = await _notify(services, member, 3)
    async with subscribed(server, TRANSPORT, member.token) as client:
        await client.subscribe("n", NOTIFICATIONS, {"after": encode_id("Notification", seen.id)})
        assert await _notification_ids(client, 2) == [encode_id("Notification", row.id) for row in missed]
        channel = user_channel(test_services.CHANNEL_PREFIX, member.user_id)
        await wait_for_subscribers(redis, channel)
        # A replayed one published late is not sent twice; a new one is sent
        await redis.publish(channel, notification_message(missed[-1]))
        (live,) = await _notify(services, member, 1)
        await redis.publish(channel, notification_message(live))
        assert await _notification_ids(client, 1) == [encode_id("Notification", live.id)]
        await client.nothing()


async def test_a_notification_cursor_no_longer_kept_gets_resync_first(
    server: Server, services: Services, member: Member
) -> None:
    purged, _kept = await _notify(services, member, 2)
    async with services.db.unit_of_work() as conn:
        await conn.execute(delete(NotificationRow).where(NotificationRow.id == purged.id))
    async with subscribed(server, TRANSPORT, member.token) as client:
        await client.subscribe("n", NOTIFICATIONS, {"after": encode_id("Notification", purged.id)})
        assert await _notification_ids(client, 1) == [None]  # RESYNC
        await client.nothing()
