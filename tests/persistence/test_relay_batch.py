"""What a batch costs the relay, and what it makes: the same statements and Redis round trips for one
event and for a hundred (assignments and comments with mentions, which make notifications and webhook
deliveries, with subscribers listening), on MariaDB and on the embedded default's SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio.client import PubSub
from sqlalchemy import func, select, update

from persistence.enums import NotificationKind
from persistence.models import Event, Notification, WebhookDelivery
from persistence.pubsub import project_channel, user_channel
from persistence.relay import BATCH_LIMIT, CommittedBatch
from persistence.statements import count_statements
from resolvers.context import Services
from tests import services as test_services
from tests.conftest import embedded_services, org_maker
from tests.notification_crew import Crew, MakeOrg, make_crew
from tests.persistence.test_relay import messages
from tests.relay_batches import unpublished_batch
from tests.relays import own_relay
from tests.schema.test_first_trip import redis_commands
from tests.webhook_fixtures import add_endpoint

URL = "https://93.184.216.34/hook"
# The claim, the batch's read, who the comments mention, the notifications' INSERT, the deliveries'
# INSERT, the listened events' tasks, the published mark; after the commit, the two marks of jobs
# enqueued.
STATEMENTS = ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "SELECT", "UPDATE", "UPDATE", "UPDATE"]
# PUBSUB NUMSUB, the events' pipeline, the notifications' pipeline.
ROUND_TRIPS = 3
_notifications, _deliveries = Notification.__table__, WebhookDelivery.__table__


class Recorder:
    """An ``on_committed`` hook that keeps what it was handed (where the jobs would be enqueued)."""

    def __init__(self) -> None:
        self.batches: list[CommittedBatch] = []

    async def __call__(self, batch: CommittedBatch) -> None:
        self.batches.append(batch)


async def _subscribe(services: Services, channel: str, opened: list[PubSub]) -> PubSub:
    pubsub = services.cache.redis.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    opened.append(pubsub)
    return pubsub


@pytest.fixture
async def subscribe(services: Services) -> AsyncIterator[Callable[[str], Awaitable[PubSub]]]:
    opened: list[PubSub] = []

    async def listen(channel: str) -> PubSub:
        return await _subscribe(services, channel, opened)

    yield listen
    for pubsub in opened:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


async def _rows_of(services: Services, table: Any, event_ids: list[int]) -> list[Any]:
    async with services.db.read() as conn:
        statement = select(table).where(table.c.event_id.in_(event_ids)).order_by(table.c.id)
        return list((await conn.execute(statement)).all())


def _as_derived(rows: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row._mapping.items() if k != "jobs_enqueued_at"} for row in rows]


def _heads(statements: list[str]) -> list[str]:
    return [statement.lstrip().split(None, 1)[0].upper() for statement in statements]


async def _assert_the_batch_made_what_it_should(
    services: Services, crew: Crew, endpoint_id: int, ids: list[int], assignments: int, hook: Recorder
) -> tuple[list[Any], list[Any]]:
    """Each assignment notified the colleague, each comment the reader and the admin; each event made
    one delivery to the endpoint; the hook was handed exactly those, and they are marked enqueued. The
    notifications and the deliveries, in id order."""
    notifications = await _rows_of(services, _notifications, ids)
    expected = [
        (event_id, crew.ids["colleague"], NotificationKind.ASSIGNED.value) for event_id in ids[:assignments]
    ]
    expected += [
        (event_id, crew.ids[name], NotificationKind.MENTIONED.value)
        for event_id in ids[assignments:]
        for name in ("reader", "admin")
    ]
    assert sorted((n.event_id, n.user_id, NotificationKind(n.kind).value) for n in notifications) == sorted(
        expected
    )
    deliveries = await _rows_of(services, _deliveries, ids)
    assert [(d.endpoint_id, d.event_id, d.event_type) for d in deliveries] == [
        (endpoint_id, event_id, "task.assigned" if number < assignments else "task.commented")
        for number, event_id in enumerate(ids)
    ]
    [batch] = hook.batches
    assert [event.id for event in batch.events] == ids
    assert [n.id for n in batch.notifications] == [n.id for n in notifications]
    assert [d.id for d in batch.webhook_deliveries] == [d.id for d in deliveries]
    assert all(row.jobs_enqueued_at is not None for row in [*notifications, *deliveries])
    return notifications, deliveries


@pytest.mark.parametrize(("assignments", "comments"), [(0, 1), (50, 50)], ids=["1 event", "100 events"])
async def test_a_batch_costs_nine_statements_and_three_round_trips_whatever_its_size(
    services: Services,
    make_org: MakeOrg,
    subscribe: Callable[[str], Awaitable[PubSub]],
    monkeypatch: pytest.MonkeyPatch,
    assignments: int,
    comments: int,
) -> None:
    # Given a batch of assignments and comments with mentions, an endpoint that wants both, someone
    # watching the project and the mentioned reader listening for notifications
    crew = await make_crew(services, None, make_org)
    endpoint_id = await add_endpoint(services, crew.org, URL, "s", ["task.assigned", "task.commented"])
    watcher = await subscribe(project_channel(test_services.CHANNEL_PREFIX, crew.project_id))
    inbox = await subscribe(user_channel(test_services.CHANNEL_PREFIX, crew.ids["reader"]))
    ids = await unpublished_batch(services, crew, assignments, comments)
    hook = Recorder()
    relay = own_relay(services, grace_seconds=0, on_committed=[hook])
    # (A connection in the pool already, as in steady use: opening one costs a handshake.)
    await services.cache.redis.ping()
    # When the relay publishes it
    with count_statements() as counter, redis_commands(monkeypatch) as sent:
        assert await relay.publish(ids) == len(ids)
    # Then it cost nine statements and three round trips to Redis, whatever its size
    assert _heads(counter.statements) == STATEMENTS, counter.statements
    assert len(sent) == ROUND_TRIPS, sent
    numsub, events_out, notifications_out = (b"".join(packed) for packed in sent)
    assert b"NUMSUB" in numsub
    assert events_out.count(b"PUBLISH") == len(ids)
    assert notifications_out.count(b"PUBLISH") == assignments + 2 * comments
    # And it made what it should, the subscribers got every event, with its snapshot, in order,
    # and the reader each of their notifications
    notifications, _ = await _assert_the_batch_made_what_it_should(
        services, crew, endpoint_id, ids, assignments, hook
    )
    received = await messages(watcher, len(ids))
    assert [m["event_id"] for m in received] == ids
    assert all(m["snapshot"]["task"]["id"] == crew.task_id for m in received)
    announced = await messages(inbox, comments)
    assert [m["notification_id"] for m in announced] == [
        n.id for n in notifications if n.user_id == crew.ids["reader"]
    ]


async def test_a_batch_published_again_makes_nothing_new_and_hands_the_same_rows_over(
    services: Services, make_org: MakeOrg
) -> None:
    # Given a batch the relay published
    crew = await make_crew(services, None, make_org)
    endpoint_id = await add_endpoint(services, crew.org, URL, "s", ["task.assigned", "task.commented"])
    ids = await unpublished_batch(services, crew, 3, 3)
    first = Recorder()
    assert await own_relay(services, on_committed=[first]).publish(ids) == 6
    notifications, deliveries = await _assert_the_batch_made_what_it_should(
        services, crew, endpoint_id, ids, 3, first
    )
    # When a second relay publishes it again (as after a crash between the commit and the marks)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Event).where(Event.id.in_(ids)).values(published_at=None))
    again = Recorder()
    assert await own_relay(services, on_committed=[again]).publish(ids) == 6
    # Then nothing new was inserted, nothing there was changed (but the mark of the second hand-over),
    # and the rows there already were handed over again
    assert _as_derived(await _rows_of(services, _notifications, ids)) == _as_derived(notifications)
    assert _as_derived(await _rows_of(services, _deliveries, ids)) == _as_derived(deliveries)
    [batch] = again.batches
    assert [n.id for n in batch.notifications] == [n.id for n in notifications]
    assert [d.id for d in batch.webhook_deliveries] == [d.id for d in deliveries]


async def test_the_embedded_default_relays_a_batch_in_the_same_statements(tmp_path: Path) -> None:
    async with embedded_services(tmp_path / "embedded.db", "embedded-batch") as services:
        crew = await make_crew(services, None, org_maker(services))
        endpoint_id = await add_endpoint(services, crew.org, URL, "s", ["task.assigned", "task.commented"])
        opened: list[PubSub] = []
        channel = project_channel(test_services.CHANNEL_PREFIX, crew.project_id)
        watcher = await _subscribe(services, channel, opened)
        ids = await unpublished_batch(services, crew, 50, 50)
        hook = Recorder()
        with count_statements() as counter:
            assert await own_relay(services, grace_seconds=0, on_committed=[hook]).publish(ids) == 100
        assert _heads(counter.statements) == STATEMENTS, counter.statements
        await _assert_the_batch_made_what_it_should(services, crew, endpoint_id, ids, 50, hook)
        received = await messages(watcher, len(ids))
        assert [m["event_id"] for m in received] == ids
        for pubsub in opened:
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


async def test_a_burst_above_the_claims_limit_goes_out_at_once_in_several_batches(
    services: Services, make_org: MakeOrg
) -> None:
    # Given more events notified at once than one claim takes
    crew = await make_crew(services, None, make_org)
    ids = await unpublished_batch(services, crew, BATCH_LIMIT + 1, 0)
    hook = Recorder()
    relay = own_relay(services, on_committed=[hook])
    # When the relay's drain gets them (its sweep is an hour away)
    relay.notify(ids)
    await relay.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while sum(len(batch.events) for batch in hook.batches) < len(ids):
            assert asyncio.get_running_loop().time() < deadline, "the burst was not published"
            await asyncio.sleep(0.05)
    finally:
        await relay.stop()
    # Then every one went out, in two batches
    assert [len(batch.events) for batch in hook.batches] == [BATCH_LIMIT, 1]
    async with services.db.read() as conn:
        left = await conn.scalar(select(func.count()).where(Event.id.in_(ids), Event.published_at.is_(None)))
    assert left == 0
