"""What the subscribers of an event need, read once by the relay and carried in its message.

Every process with subscribers to a project would otherwise read, for every event, who may see the
project and the task as it is now: one checkout and two statements per process per event, more than
half of what an update costs once two processes listen. The relay reads both for its whole batch in
the transaction that claims the events, so they are as fresh as a read on receipt, a few
milliseconds earlier: the projects' audiences with the batch's one read (persistence/batch_reads.py),
the tasks in one statement here, whatever the batch and however many organizations it spans. It does
so only for the events whose project channel has a subscriber (``Relay._listened_to``, one PUBSUB
NUMSUB): an event nobody watches costs no read. Each subscriber still decides on its own principal
whether it may see the project (``persistence.queries.scope.sees_project``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.queries.scope import ProjectAudience
from persistence.queries.tasks import EVERYTHING, live_tasks_by_ids

# A project with more members than this is not carried (the message would grow with it): its
# subscribers read the audience themselves.
MAX_CARRIED_MEMBERS = 1000


class EventRow(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def project_id(self) -> int | None: ...
    @property
    def task_id(self) -> int | None: ...


async def event_snapshots(
    conn: AsyncConnection, events: Sequence[EventRow], audiences: Mapping[int, ProjectAudience]
) -> dict[int, dict[str, Any]]:
    """By event id, ``{"audience": {...}, "task": {...} | None}`` for the events about a project of
    ``audiences`` (by project id) that is of the event's organization."""
    carried: list[tuple[EventRow, ProjectAudience]] = []
    for event in events:
        audience = None if event.project_id is None else audiences.get(event.project_id)
        if audience is None or audience.organization_id != event.organization_id:
            continue
        if len(audience.member_ids) <= MAX_CARRIED_MEMBERS:
            carried.append((event, audience))
    task_ids = sorted({event.task_id for event, _ in carried if event.task_id is not None})
    # Every project of the organization: who may see it is the subscriber's decision.
    tasks = {row.id: row for row in await live_tasks_by_ids(conn, task_ids, EVERYTHING)} if task_ids else {}
    snapshots: dict[int, dict[str, Any]] = {}
    for event, audience in carried:
        task = tasks.get(event.task_id) if event.task_id is not None else None
        snapshots[event.id] = {
            "audience": {
                "organization_id": audience.organization_id,
                "member_ids": sorted(audience.member_ids),
            },
            "task": dict(task._mapping) if task is not None and task.project_id == event.project_id else None,
        }
    return snapshots
