from __future__ import annotations

from collections.abc import Sequence

from loaders.base import ScopedLoader
from loaders.cached import task_pages
from persistence.db import Database
from persistence.queries import attachments as attachment_queries
from persistence.queries import tasks as queries
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope
from persistence.values import Page, PageRequest, TaskFilter, TaskIncludes, TaskOrder
from persistence.versioned_cache import VersionedCache

PageWithTotal = tuple[Page[AnyRow], int | None]


class TaskByIdLoader(ScopedLoader):
    def __init__(self, db: Database, scope: Scope, includes: TaskIncludes) -> None:
        super().__init__(db, scope)
        self.includes = includes

    async def batch_load_fn(self, ids: Sequence[int]) -> list[AnyRow | None]:
        async with self.db.read() as conn:
            rows = await queries.tasks_by_ids(conn, self.scope, ids, self.includes)
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]


class TaskPageByParentLoader(ScopedLoader):
    """One page of tasks per parent key, for a parent column of tasks (``assignee_id``, ``parent_id``,
    ``project_id``); one loader per distinct set of page arguments."""

    def __init__(
        self,
        db: Database,
        scope: Scope,
        *,
        partition: str,
        where: TaskFilter,
        order: TaskOrder,
        page: PageRequest,
        includes: TaskIncludes,
        with_total: bool,
        versioned: VersionedCache | None = None,
    ) -> None:
        super().__init__(db, scope, versioned)
        self.partition = partition
        self.where = where
        self.order = order
        self.page = page
        self.includes = includes
        self.with_total = with_total

    async def batch_load_fn(self, parent_ids: Sequence[int]) -> list[PageWithTotal]:
        """Through the task-list cache: one MGET for every parent, one statement for the misses."""
        arguments = (self.partition, self.where, self.order, self.page, self.includes, self.with_total)
        pages = await task_pages(self.versioned, self.scope, arguments, parent_ids, self._read)
        return [pages[i] for i in parent_ids]

    async def _read(self, parent_ids: Sequence[int]) -> dict[int, PageWithTotal]:
        async with self.db.read() as conn:
            return await queries.tasks_by_parent_ids(
                conn,
                self.scope,
                self.partition,
                parent_ids,
                self.where,
                self.order,
                self.page,
                self.includes,
                with_total=self.with_total,
            )


class AttachmentsByTaskIdLoader(ScopedLoader):
    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[list[AnyRow]]:
        async with self.db.read() as conn:
            rows = await attachment_queries.attachments_by_task_ids(conn, self.scope, task_ids)
        grouped: dict[int, list[AnyRow]] = {i: [] for i in task_ids}
        for row in rows:
            grouped[row.task_id].append(row)
        return [grouped[i] for i in task_ids]
