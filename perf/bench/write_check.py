"""The write pair's tasks and the check that what a run wrote is what its answers acknowledged.

The tasks: for each load connection, one project the viewer may edit (the highest ids, away from the
lowest ones ``make bench-subscriptions`` writes to) and a few of its tasks, none of which the read
pairs show (the list's page, the by-id sample), so the writes never change what the reads measure.

The check, after every write run (warm-up included): the versions of the run's tasks moved on by as
many steps, and as many ``task.updated`` events about them were written, each with an idempotency key,
as the run counted acknowledged writes; and the relay published them all. A mismatch ends the bench.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from persistence.models import Event, Project, Task
from persistence.queries.scope import Scope, may_edit_project, visible_project

_tasks = Task.__table__
_projects = Project.__table__
_events = Event.__table__
PUBLISH_WAIT_SECONDS = 10.0
T = TypeVar("T")


class WriteMismatch(SystemExit):
    """Ends the bench with its message: the write pair's figures would count something else."""


@dataclass(frozen=True)
class Snapshot:
    versions: dict[int, int]
    last_event_id: int


@dataclass(frozen=True)
class Written:
    version_steps: int
    events: int
    keyed_events: int
    unpublished: int


async def choose_owned_tasks(
    engine: AsyncEngine, scope: Scope, connections: int, per_connection: int, shown: set[int]
) -> list[list[int]]:
    """``connections`` lists of ``per_connection`` task ids, each list from a project of its own."""
    async with engine.connect() as conn:
        projects = (
            await conn.execute(
                select(_projects.c.id)
                .where(
                    _projects.c.organization_id == scope.organization_id,
                    visible_project(scope, _projects.c.id),
                    may_edit_project(scope, _projects.c.id),
                )
                .order_by(_projects.c.id.desc())
            )
        ).scalars()
        owned: list[list[int]] = []
        for project_id in projects:
            ids = (
                await conn.execute(
                    select(_tasks.c.id)
                    .where(_tasks.c.project_id == project_id, _tasks.c.deleted_at.is_(None))
                    .order_by(_tasks.c.id)
                    .limit(per_connection + len(shown))
                )
            ).scalars()
            mine = [int(i) for i in ids if i not in shown][:per_connection]
            if len(mine) == per_connection:
                owned.append(mine)
            if len(owned) == connections:
                return owned
    raise WriteMismatch(
        f"the write pair needs {connections} projects the viewer may edit with {per_connection} tasks "
        f"each, one per connection; it found {len(owned)}: lower --connections or use another --viewer"
    )


async def list_page_ids(engine: AsyncEngine, scope: Scope, size: int) -> set[int]:
    """The tasks the list request shows (its order: newest first)."""
    async with engine.connect() as conn:
        ids = (
            await conn.execute(
                select(_tasks.c.id)
                .where(
                    _tasks.c.organization_id == scope.organization_id,
                    _tasks.c.deleted_at.is_(None),
                    visible_project(scope, _tasks.c.project_id),
                )
                .order_by(_tasks.c.created_at.desc(), _tasks.c.id.desc())
                .limit(size)
            )
        ).scalars()
        return {int(i) for i in ids}


async def snapshot(engine: AsyncEngine, task_ids: list[int]) -> Snapshot:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(_tasks.c.id, _tasks.c.version).where(_tasks.c.id.in_(task_ids)))
        ).all()
        last = (await conn.execute(select(func.coalesce(func.max(_events.c.id), 0)))).scalar_one()
    return Snapshot({int(r.id): int(r.version) for r in rows}, int(last))


async def written_since(engine: AsyncEngine, before: Snapshot) -> Written:
    """What was written to ``before``'s tasks since it was taken; waits (a bounded time) for the relay
    to publish the new events."""
    after = await snapshot(engine, list(before.versions))
    steps = sum(after.versions[i] - before.versions[i] for i in before.versions)
    new_events = _events.c.id > before.last_event_id
    counted = select(
        func.count(),
        func.count(_events.c.idempotency_key),
        func.count() - func.count(_events.c.published_at),  # MariaDB has no FILTER
    ).where(new_events, _events.c.task_id.in_(list(before.versions)), _events.c.type == "task.updated")
    deadline = time.monotonic() + PUBLISH_WAIT_SECONDS
    while True:
        async with engine.connect() as conn:
            events, keyed, unpublished = (await conn.execute(counted)).one()
        if not unpublished or time.monotonic() > deadline:
            return Written(steps, int(events), int(keyed), int(unpublished))
        await asyncio.sleep(0.2)


def mismatch(name: str, succeeded: int, written: Written) -> str | None:
    """What is wrong, in words, or None when the rows match the acknowledged writes."""
    wrong = []
    if written.version_steps != succeeded:
        wrong.append(f"the tasks' versions moved {written.version_steps} steps")
    if written.events != succeeded:
        wrong.append(f"{written.events} task.updated events were written")
    if written.keyed_events != written.events:
        wrong.append(f"only {written.keyed_events} of the events carry an idempotency key")
    if written.unpublished:
        wrong.append(
            f"{written.unpublished} events were still unpublished after {PUBLISH_WAIT_SECONDS:.0f} s"
        )
    if not wrong:
        return None
    return f"{name}: {succeeded} writes acknowledged, but " + "; ".join(wrong)


class Ledger:
    """The bench's synchronous view of the write pair's rows, on a connection of its own per call."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _run(self, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        async def with_engine() -> T:
            engine = create_async_engine(self.database_url, poolclass=NullPool)
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(with_engine())

    def snapshot(self, task_ids: list[int]) -> Snapshot:
        return self._run(lambda engine: snapshot(engine, task_ids))

    def check(self, name: str, succeeded: int, before: Snapshot, refusal: str | None = None) -> Written:
        """Raises WriteMismatch unless the rows match ``succeeded``; ``refusal``, the first answer
        that was not a write, goes into the message."""
        written = self._run(lambda engine: written_since(engine, before))
        problem = mismatch(name, succeeded, written)
        if problem is not None:
            raise WriteMismatch(problem + ("" if refusal is None else f" (first refusal: {refusal})"))
        return written
