"""What a resume, a gap and a reconnect cost in statements (a fixed number, whatever the number of
events or subscribers), and what each hands on, against MariaDB."""

from __future__ import annotations

import asyncio
from typing import Any

from persistence.models.base import utcnow
from persistence.pubsub import Message, Resync
from persistence.queries.events import NewEvent, insert_task_event
from persistence.statements import count_statements
from resolvers.context import Services
from resolvers.event_reads import event_reads
from resolvers.event_replay import ProjectCursor, ReplayedMessage
from tests.resolvers.test_event_reads import _a_task

SUBSCRIBERS = 12


async def _append(services: Services, task: Any, count: int) -> list[int]:
    """``count`` events about the task; their sequences."""
    sequences = []
    async with services.db.unit_of_work() as conn:
        for _ in range(count):
            event = NewEvent(task.organization_id, None, task.id, None, "task.updated", {})
            _, sequence = await insert_task_event(conn, event, utcnow())
            assert sequence is not None
            sequences.append(sequence)
    return sequences


def _sequences(batch: list[Any]) -> list[int | None]:
    return [None if isinstance(item, Resync) else item["sequence"] for item in batch]


async def test_a_resume_reads_its_events_and_their_snapshots_in_three_statements(
    services: Services, make_org: Any
) -> None:
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    for count in (1, 40):
        cursor = await ProjectCursor.at_head(services, task.project_id)
        appended = await _append(services, task, count)
        with count_statements() as counter:
            batch = await cursor.catch_up("resume")
            replayed = [item for item in batch if isinstance(item, ReplayedMessage)]
            snapshots = [
                await event_reads(item, services).snapshot(org.organization_id, task.project_id, task.id)
                for item in replayed
            ]
        # The events, then the project's audience and their tasks, for all of them at once
        assert counter.count == 3, counter.statements
        assert _sequences(batch) == appended
        assert len(replayed) == count
        assert {s.task.id for s in snapshots if s.task is not None} == {task.id}


async def test_after_a_reconnect_subscribers_at_one_cursor_share_one_read(
    services: Services, make_org: Any
) -> None:
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    head = (await ProjectCursor.at_head(services, task.project_id)).last
    missed = await _append(services, task, 3)
    cursors = [ProjectCursor(services, task.project_id, head) for _ in range(SUBSCRIBERS)]
    reconnected = Resync("reconnected")  # one object reaches every listener, as the hub broadcasts it
    with count_statements() as counter:
        batches = await asyncio.gather(*(cursor.admit(reconnected) for cursor in cursors))
    assert counter.count == 3, counter.statements  # the events and their snapshots, once for all
    assert all(batch == batches[0] for batch in batches)
    assert all(_sequences(batch) == missed for batch in batches)
    assert all(cursor.last == missed[-1] for cursor in cursors)


async def test_an_event_ahead_of_the_cursor_brings_the_gap_and_a_duplicate_brings_nothing(
    services: Services, make_org: Any
) -> None:
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    cursor = await ProjectCursor.at_head(services, task.project_id)
    first, second, third = await _append(services, task, 3)
    with count_statements() as counter:
        batch = await cursor.admit(Message({"sequence": third}))
    assert counter.count == 3, counter.statements
    assert _sequences(batch) == [first, second, third]
    with count_statements() as counter:
        assert await cursor.admit(Message({"sequence": second})) == []
        assert await cursor.admit(Message({"sequence": third})) == []
    assert counter.count == 0
