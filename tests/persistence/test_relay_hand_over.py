"""The relay hands what it committed (events and notifications) to each ``on_committed`` hook (the
jobs); a hook that fails is logged with the ids, keeps no other hook from its share, and changes
nothing that committed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from persistence.models import Event, Notification
from persistence.models.base import utcnow
from persistence.queries.events import NewEvent, insert_event
from persistence.relay import CommittedBatch
from resolvers.context import Services
from tests.notification_crew import MakeOrg, make_crew, notifications_of
from tests.relays import own_relay

_events = Event.__table__


async def _assignment(services: Services, make_org: MakeOrg) -> tuple[int, int]:
    """An unpublished ``task.assigned`` event (the author assigns the colleague); its id and the
    colleague's. Only a relay of the test's own publishes it: nobody notified the suite's relay."""
    crew = await make_crew(services, None, make_org)
    colleague = crew.ids["colleague"]
    event = NewEvent(
        crew.org.organization_id,
        crew.project_id,
        crew.task_id,
        crew.ids["author"],
        "task.assigned",
        {"changes": {"assignee_id": colleague}},
    )
    async with services.db.unit_of_work() as conn:
        event_id, _ = await insert_event(conn, event, utcnow())
    return event_id, colleague


async def test_the_committed_notifications_are_handed_over(services: Services, make_org: MakeOrg) -> None:
    event_id, colleague = await _assignment(services, make_org)
    handed: list[CommittedBatch] = []

    async def take(batch: CommittedBatch) -> None:
        handed.append(batch)

    assert await own_relay(services, on_committed=[take]).publish([event_id]) == 1
    [stored] = await notifications_of(services, colleague)
    assert [([e.id for e in b.events], [n.id for n in b.notifications]) for b in handed] == [
        ([event_id], [stored.id])
    ]
    # And, every hook having taken it, the notification is marked enqueued
    assert await _enqueued_at(services, stored.id) is not None


async def test_a_failing_hand_over_is_logged_and_loses_no_row(
    services: Services, make_org: MakeOrg, caplog: pytest.LogCaptureFixture
) -> None:
    event_id, colleague = await _assignment(services, make_org)

    handed: list[CommittedBatch] = []

    async def fail(_batch: CommittedBatch) -> None:
        raise RedisConnectionError("redis is gone")

    async def take(batch: CommittedBatch) -> None:
        handed.append(batch)

    with caplog.at_level(logging.ERROR, logger="taskql.relay"):
        assert await own_relay(services, on_committed=[fail, take]).publish([event_id]) == 1
    assert [[e.id for e in b.events] for b in handed] == [[event_id]]
    [stored] = await notifications_of(services, colleague)
    [record] = [r for r in caplog.records if "hand over" in r.getMessage()]
    assert str(stored.id) in record.getMessage()
    async with services.db.read() as conn:
        published = await conn.scalar(select(_events.c.published_at).where(_events.c.id == event_id))
    assert published is not None


async def _enqueued_at(services: Services, notification_id: int) -> Any:
    async with services.db.read() as conn:
        return await conn.scalar(
            select(Notification.jobs_enqueued_at).where(Notification.id == notification_id)
        )


async def test_what_a_failing_hook_left_the_sweep_hands_over_again_once(
    services: Services, make_org: MakeOrg
) -> None:
    event_id, colleague = await _assignment(services, make_org)

    async def fail(_batch: CommittedBatch) -> None:
        raise RedisConnectionError("redis is gone")

    # Given a publish whose job hook failed (Redis down just after the commit)
    assert await own_relay(services, on_committed=[fail]).publish([event_id]) == 1
    [stored] = await notifications_of(services, colleague)
    assert await _enqueued_at(services, stored.id) is None
    handed: list[CommittedBatch] = []

    async def take(batch: CommittedBatch) -> None:
        handed.append(batch)

    relay = own_relay(services, grace_seconds=0, on_committed=[take])
    # When the sweep looks for notifications whose jobs were never enqueued (500 a round, oldest
    # first: other tests leave some of their own, so as many rounds as it takes)
    for _ in range(100):
        if not await relay.hand_over_stragglers() or await _enqueued_at(services, stored.id) is not None:
            break
    # Then it handed this one over again, and marked it
    assert stored.id in [n.id for batch in handed for n in batch.notifications]
    assert await _enqueued_at(services, stored.id) is not None
    # And the next sweep leaves it alone
    handed.clear()
    await relay.hand_over_stragglers()
    assert stored.id not in [n.id for batch in handed for n in batch.notifications]
