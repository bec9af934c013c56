"""Reads shared by the subscribers of one event within a process.

Every subscriber of a project hears the same message. Read on their own, each would check the
project's visibility and re-read the changed task: two statements per subscriber per event, so
2,000 statements a second for 1,000 subscribers at one event per project per second. Usually the
relay has already put both in the message (``persistence/snapshots.py``) and nothing is read here.
When it has not (a sweep after a crash, a project too large to carry), the first subscriber of a
message starts one read and the others await it: one checkout per message per process, whatever the
number of subscribers. The subscribers' sessions are checked in one batch per message too.

Only what does not depend on the subscriber is shared. Whether a subscriber may see the project is
still decided per subscriber, against its principal authenticated again for this event
(``persistence.queries.scope.sees_project``), before anything read here reaches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from aiodataloader import DataLoader

from persistence.pubsub import Message
from persistence.queries import projects as project_queries
from persistence.queries import tasks as task_queries
from persistence.queries.rows import AnyRow, PlainRow
from persistence.queries.scope import ProjectAudience, Scope
from persistence.queries.tasks import EVERYTHING, task_row_from_json
from resolvers.auth import session_entries
from resolvers.context import Services
from resolvers.errors import Unauthenticated

T = TypeVar("T")
_MEMO_KEY = "event_reads"


@dataclass(frozen=True)
class EventSnapshot:
    # None: the project is gone.
    audience: ProjectAudience | None
    # None: no task in the event, or it is deleted or moved out of the project. A PlainRow when the
    # relay carried it in the message.
    task: AnyRow | PlainRow | None


class EventReads:
    def __init__(self, services: Services, message: Message | None = None) -> None:
        self._services = services
        self._message = message
        self._reads: dict[Hashable, asyncio.Future[Any]] = {}
        self._sessions: DataLoader[str, dict[str, Any] | None] | None = None

    async def once(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """``read``'s result, computed by the first subscriber that asks and awaited by the others."""
        started = self._reads.get(key)
        if started is None:
            started = self._reads[key] = asyncio.ensure_future(read())
        if started.done():
            result: T = started.result()  # most subscribers of a message: the read is done
            return result
        # Shielded: a subscriber that goes away mid-read must not cancel the others' read.
        return await asyncio.shield(started)

    def remember(self, key: Hashable, value: object) -> None:
        """A read already made elsewhere (a replay reads its events' snapshots in one statement)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(value)
        self._reads[key] = done

    async def session_entry(self, session_id: str) -> dict[str, Any]:
        """Each subscriber's session, checked again for this event: the subscribers woken by one
        message ask in the same turn of the loop, so one MGET (and one statement for what Redis
        lacks) answers them all."""
        if self._sessions is None:
            self._sessions = DataLoader(partial(session_entries, self._services))
        entry = await self._sessions.load(session_id)
        if entry is None:
            raise Unauthenticated("unknown session")
        return entry

    async def snapshot(self, organization_id: int, project_id: int, task_id: int | None) -> EventSnapshot:
        """The project's audience and the task as it is now, in one short read: every subscriber
        needs the first, and most the second. The task is read with every join and aggregate, so one
        row serves each subscriber's selection."""

        async def read() -> EventSnapshot:
            carried = self._carried(project_id, task_id)
            if carried is not None:
                return carried
            # Every project of the organization: visibility is decided per subscriber, from the audience.
            organization_wide = Scope(organization_id, user_id=0, sees_all_projects=True)
            async with self._services.db.read() as conn:
                audience = await project_queries.project_audience(conn, project_id)
                rows: Sequence[AnyRow] = ()
                if task_id is not None and audience is not None:
                    rows = await task_queries.tasks_by_ids(conn, organization_wide, [task_id], EVERYTHING)
            task = rows[0] if rows and rows[0].project_id == project_id else None
            return EventSnapshot(audience, task)

        return await self.once(("snapshot", organization_id, project_id, task_id), read)

    def _carried(self, project_id: int, task_id: int | None) -> EventSnapshot | None:
        """The snapshot the relay put in the message (persistence/snapshots.py), if it is about this."""
        message = self._message
        if message is None or message.get("project_id") != project_id or message.get("task_id") != task_id:
            return None
        snapshot = message.get("snapshot")
        if not isinstance(snapshot, dict) or not isinstance(snapshot.get("audience"), dict):
            return None
        audience = snapshot["audience"]
        task = snapshot.get("task")
        return EventSnapshot(
            ProjectAudience(int(audience["organization_id"]), frozenset(audience["member_ids"])),
            task_row_from_json(task) if isinstance(task, dict) else None,
        )


def event_reads(message: Message, services: Services) -> EventReads:
    """The reads of this message in this process, made by whichever subscriber asks first."""
    reads = message.memo.get(_MEMO_KEY)
    if not isinstance(reads, EventReads):
        reads = message.memo[_MEMO_KEY] = EventReads(services, message)
    return reads


async def preload_snapshots(
    messages: Sequence[Message], services: Services, organization_id: int, project_id: int
) -> None:
    """Replayed events' snapshots, for all of them in one checkout: the project's audience and every
    task they name, as each is now. A replay of a thousand events then reads twice, not a thousand
    times."""
    task_ids = sorted({task_id for m in messages if isinstance(task_id := m.get("task_id"), int)})
    organization_wide = Scope(organization_id, user_id=0, sees_all_projects=True)
    async with services.db.read() as conn:
        audience = await project_queries.project_audience(conn, project_id)
        rows: Sequence[AnyRow] = ()
        if task_ids and audience is not None:
            rows = await task_queries.tasks_by_ids(conn, organization_wide, task_ids, EVERYTHING)
    tasks = {int(row.id): row for row in rows if row.project_id == project_id}
    for message in messages:
        task_id = message.get("task_id")
        task = tasks.get(task_id) if isinstance(task_id, int) else None
        event_reads(message, services).remember(
            ("snapshot", organization_id, project_id, task_id), EventSnapshot(audience, task)
        )
