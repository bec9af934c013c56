from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Event, Task
from persistence.queries.pagination import Page, PageRequest, SortKey, fetch_partitioned_pages
from persistence.queries.scope import Scope, visible_project

EVENT_FIELDS = ("id", "task_id", "project_id", "actor_id", "type", "sequence", "payload", "created_at")


async def activity_by_task_ids(
    conn: AsyncConnection, scope: Scope, task_ids: Sequence[int], page: PageRequest, *, with_total: bool
) -> dict[int, tuple[Page, int | None]]:
    """Each task's activity (the events table read as a log), newest first."""
    events, tasks = Event.__table__, Task.__table__
    statement = (
        select(*[events.c[name] for name in EVENT_FIELDS])
        .select_from(events.join(tasks, tasks.c.id == events.c.task_id))
        .where(
            events.c.organization_id == scope.organization_id,
            tasks.c.organization_id == scope.organization_id,
            visible_project(scope, tasks.c.project_id),
        )
    )
    key = SortKey(events.c.id, events.c.id, descending=True)
    return await fetch_partitioned_pages(
        conn, statement, events.c.task_id, task_ids, key, page, with_total=with_total
    )
