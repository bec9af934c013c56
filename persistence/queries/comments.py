from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Comment, Task, User
from persistence.queries.pagination import SortKey, fetch_partitioned_pages
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project
from persistence.queries.users import user_columns
from persistence.values import Page, PageRequest

COMMENT_FIELDS = ("id", "task_id", "author_id", "body", "created_at", "updated_at")


async def comments_by_task_ids(
    conn: AsyncConnection,
    scope: Scope,
    task_ids: Sequence[int],
    page: PageRequest,
    *,
    with_author: bool,
    with_total: bool,
) -> dict[int, tuple[Page[AnyRow], int | None]]:
    """A page of each task's comments, oldest first, with the author joined when asked for."""
    comments, tasks, authors = Comment.__table__, Task.__table__, User.__table__.alias("author")
    columns: list[ColumnElement[Any]] = [comments.c[name] for name in COMMENT_FIELDS]
    source = comments.join(tasks, tasks.c.id == comments.c.task_id)
    if with_author:
        columns += user_columns(authors, "author__")
        source = source.outerjoin(
            authors,
            (authors.c.id == comments.c.author_id) & (authors.c.organization_id == tasks.c.organization_id),
        )
    statement = (
        select(*columns)
        .select_from(source)
        .where(
            comments.c.deleted_at.is_(None),
            tasks.c.organization_id == scope.organization_id,
            tasks.c.deleted_at.is_(None),
            visible_project(scope, tasks.c.project_id),
        )
    )
    key = SortKey(comments.c.created_at, comments.c.id, descending=False)
    return await fetch_partitioned_pages(
        conn, statement, comments.c.task_id, task_ids, key, page, with_total=with_total
    )


async def comments_by_ids(
    conn: AsyncConnection, scope: Scope, comment_ids: Sequence[int]
) -> Sequence[AnyRow]:
    """The live comments among these ids on live tasks the scope sees, with their authors
    (``author__`` columns, as ``comments_by_task_ids`` joins them): one statement."""
    comments, tasks, authors = Comment.__table__, Task.__table__, User.__table__.alias("author")
    source = comments.join(tasks, tasks.c.id == comments.c.task_id).outerjoin(
        authors,
        (authors.c.id == comments.c.author_id) & (authors.c.organization_id == tasks.c.organization_id),
    )
    statement = (
        select(*[comments.c[name] for name in COMMENT_FIELDS], *user_columns(authors, "author__"))
        .select_from(source)
        .where(
            comments.c.id.in_(comment_ids),
            comments.c.deleted_at.is_(None),
            tasks.c.organization_id == scope.organization_id,
            tasks.c.deleted_at.is_(None),
            visible_project(scope, tasks.c.project_id),
        )
    )
    return (await conn.execute(statement)).all()
