from __future__ import annotations

from collections.abc import Sequence

from loaders.base import ScopedLoader
from persistence.db import Database
from persistence.queries import comments as queries
from persistence.queries import events as event_queries
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope
from persistence.values import Page, PageRequest

PageWithTotal = tuple[Page[AnyRow], int | None]


class CommentPageByTaskIdLoader(ScopedLoader):
    def __init__(
        self, db: Database, scope: Scope, *, page: PageRequest, with_author: bool, with_total: bool
    ) -> None:
        super().__init__(db, scope)
        self.page = page
        self.with_author = with_author
        self.with_total = with_total

    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[PageWithTotal]:
        async with self.db.read() as conn:
            pages = await queries.comments_by_task_ids(
                conn,
                self.scope,
                task_ids,
                self.page,
                with_author=self.with_author,
                with_total=self.with_total,
            )
        return [pages[i] for i in task_ids]


class ActivityPageByTaskIdLoader(ScopedLoader):
    def __init__(self, db: Database, scope: Scope, *, page: PageRequest, with_total: bool) -> None:
        super().__init__(db, scope)
        self.page = page
        self.with_total = with_total

    async def batch_load_fn(self, task_ids: Sequence[int]) -> list[PageWithTotal]:
        async with self.db.read() as conn:
            pages = await event_queries.activity_by_task_ids(
                conn, self.scope, task_ids, self.page, with_total=self.with_total
            )
        return [pages[i] for i in task_ids]
