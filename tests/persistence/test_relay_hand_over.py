"""The relay hands the notifications it committed to ``on_committed`` (the email jobs); a hook that
fails is logged with the notifications' ids and changes nothing that committed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from persistence.models import Event
from persistence.models.base import utcnow
from persistence.queries.events import NewEvent, insert_event
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
    handed: list[Sequence[Any]] = []

    async def take(notifications: Sequence[Any]) -> None:
        handed.append(notifications)

    assert await own_relay(services, on_committed=take).publish([event_id]) == 1
    [stored] = await notifications_of(services, colleague)
    assert [[row.id for row in batch] for batch in handed] == [[stored.id]]


async def test_a_failing_hand_over_is_logged_and_loses_no_row(
    services: Services, make_org: MakeOrg, caplog: pytest.LogCaptureFixture
) -> None:
    event_id, colleague = await _assignment(services, make_org)

    async def fail(_notifications: Sequence[Any]) -> None:
        raise RedisConnectionError("redis is gone")

    with caplog.at_level(logging.ERROR, logger="taskql.relay"):
        assert await own_relay(services, on_committed=fail).publish([event_id]) == 1
    [stored] = await notifications_of(services, colleague)
    [record] = [r for r in caplog.records if "hand over" in r.getMessage()]
    assert str(stored.id) in record.getMessage()
    async with services.db.read() as conn:
        published = await conn.scalar(select(_events.c.published_at).where(_events.c.id == event_id))
    assert published is not None
