"""What the subscribers of an event need, read once by the relay and carried in its message.

Every process with subscribers to a project would otherwise read, for every event, who may see the
project and the task as it is now: one checkout and two statements per process per event, more than
half of what an update costs once two processes listen. The relay reads both for its whole batch in
the transaction that claims the events (two statements, whatever the batch), so they are as fresh as a
read on receipt, a few milliseconds earlier. It does so only for the events whose project channel has
a subscriber (``Relay._listened_to``, one PUBSUB NUMSUB): an event nobody watches costs no read. Each
subscriber still decides on its own principal whether it may see the project
(``persistence.queries.scope.sees_project``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.queries.projects import project_audiences
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope
from persistence.queries.tasks import EVERYTHING, tasks_by_ids

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


async def event_snapshots(conn: AsyncConnection, events: Sequence[EventRow]) -> dict[int, dict[str, Any]]:
    """By event id, ``{"audience": {...}, "task": {...} | None}`` for the events about a project."""
    project_ids = sorted({e.project_id for e in events if e.project_id is not None})
    if not project_ids:
        return {}
    audiences = await project_audiences(conn, project_ids)
    task_ids_of: dict[int, set[int]] = {}
    for event in events:
        if event.task_id is not None and event.project_id in audiences:
            task_ids_of.setdefault(event.organization_id, set()).add(event.task_id)
    tasks: dict[int, AnyRow] = {}
    for organization_id, task_ids in task_ids_of.items():
        # Every project of the organization: who may see it is the subscriber's decision.
        organization_wide = Scope(organization_id, user_id=0, sees_all_projects=True)
        for row in await tasks_by_ids(conn, organization_wide, sorted(task_ids), EVERYTHING):
            tasks[row.id] = row
    snapshots: dict[int, dict[str, Any]] = {}
    for event in events:
        audience = None if event.project_id is None else audiences.get(event.project_id)
        if audience is None or len(audience.member_ids) > MAX_CARRIED_MEMBERS:
            continue
        task = tasks.get(event.task_id) if event.task_id is not None else None
        snapshots[event.id] = {
            "audience": {
                "organization_id": audience.organization_id,
                "member_ids": sorted(audience.member_ids),
            },
            "task": dict(task._mapping) if task is not None and task.project_id == event.project_id else None,
        }
    return snapshots
