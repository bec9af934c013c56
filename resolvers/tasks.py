"""Task reads: every one goes through the principal's scope (organization, visible projects)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from loaders.cached import task_pages
from persistence.queries import tasks as queries
from persistence.queries.records import (
    activity_record,
    attachment_record,
    comment_record,
    pages_of,
    task_record,
)
from persistence.queries.rows import AnyRow
from persistence.records import ActivityEventRecord, AttachmentRecord, CommentRecord, TaskRecord
from persistence.settings import Settings
from persistence.values import PageRequest, PageWithTotal, TaskFilter, TaskIncludes, TaskOrder
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound

_TASK_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-([1-9][0-9]{0,8})$")
SUBTASK_LIMIT = 100
# Ranked results page by offset; deep offsets cost a scan of every earlier match.
MAX_SEARCH_OFFSET = 10_000


async def list_tasks(
    ctx: RequestContext,
    where: TaskFilter,
    order: TaskOrder,
    page: PageRequest,
    includes: TaskIncludes,
    *,
    with_total: bool,
) -> PageWithTotal[TaskRecord]:
    """The organization's list (parent 0 in the task-list cache), as far as the viewer sees it."""
    scope = ctx.require_principal().scope

    async def read(parents: Sequence[int]) -> dict[int, PageWithTotal[AnyRow]]:
        # A page the task-list cache keeps must come from the primary; an uncached one may lag.
        async with ctx.db.read(lag_ok=not ctx.settings.task_list_cache_enabled) as conn:
            listed = await queries.list_tasks(
                conn, scope, where, order, page, includes, with_total=with_total
            )
        return dict.fromkeys(parents, listed)

    arguments = ("organization", where, order, page, includes, with_total)
    listed = (await task_pages(ctx.versioned_cache, scope, arguments, [0], read))[0]
    return pages_of(listed, lambda row: task_record(row, includes))


async def task(ctx: RequestContext, task_id: int, includes: TaskIncludes) -> TaskRecord:
    found = await task_or_none(ctx, task_id, includes)
    if found is None:
        raise NotFound("task")
    return found


async def task_or_none(ctx: RequestContext, task_id: int | None, includes: TaskIncludes) -> TaskRecord | None:
    if task_id is None:
        return None
    row: AnyRow | None = await ctx.loaders.task_by_id(includes).load(task_id)
    return None if row is None else task_record(row, includes)


def parse_task_key(key: str) -> tuple[str, int]:
    """A task key's project key (upper-cased) and number; BAD_USER_INPUT for anything else."""
    matched = _TASK_KEY.match(key.strip())
    if matched is None:
        raise BadUserInput(f"not a task key (like OPS-42): {key[:40]!r}", argument="key")
    return matched[1].upper(), int(matched[2])


async def task_by_key(ctx: RequestContext, key: str, includes: TaskIncludes) -> TaskRecord:
    project_key, number = parse_task_key(key)
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        row = await queries.task_by_key(conn, scope, project_key, number, includes)
    if row is None:
        raise NotFound("task")
    return task_record(row, includes)


def check_search(settings: Settings, query: str, offset: int) -> None:
    """BAD_USER_INPUT for a search text too long or empty, or a page past the deepest offset (both
    engines ask this)."""
    limit = settings.max_search_length
    if len(query) > limit:
        raise BadUserInput(f"search text is longer than {limit} characters", argument="query")
    if not query.strip():
        raise BadUserInput("search text is empty", argument="query")
    if not 0 <= offset <= MAX_SEARCH_OFFSET:
        raise BadUserInput(
            f"search pages end after {MAX_SEARCH_OFFSET} results; refine the query", argument="after"
        )


async def search_tasks(
    ctx: RequestContext,
    query: str,
    where: TaskFilter,
    offset: int,
    size: int,
    includes: TaskIncludes,
    *,
    with_total: bool,
) -> PageWithTotal[TaskRecord]:
    check_search(ctx.settings, query, offset)
    scope = ctx.require_principal().scope
    async with ctx.db.read(lag_ok=True) as conn:
        found = await queries.search_tasks(
            conn, scope, query, where, offset, size, includes, with_total=with_total
        )
    return pages_of(found, lambda row: task_record(row, includes))


async def tasks_of(
    ctx: RequestContext,
    partition: str,
    parent_id: int,
    where: TaskFilter,
    order: TaskOrder,
    page: PageRequest,
    includes: TaskIncludes,
    *,
    with_total: bool,
) -> PageWithTotal[TaskRecord]:
    """A nested connection: the tasks whose ``partition`` column (assignee, parent, project) is the parent."""
    loader = ctx.loaders.task_page_by_parent(partition, where, order, page, includes, with_total)
    result: PageWithTotal[AnyRow] = await loader.load(parent_id)
    return pages_of(result, lambda row: task_record(row, includes))


async def attachments(ctx: RequestContext, task_id: int) -> list[AttachmentRecord]:
    rows: list[AnyRow] = await ctx.loaders.attachments_by_task_id().load(task_id)
    return [attachment_record(row) for row in rows]


async def comments(
    ctx: RequestContext, task_id: int, page: PageRequest, *, with_author: bool, with_total: bool
) -> PageWithTotal[CommentRecord]:
    loader = ctx.loaders.comment_page_by_task_id(page, with_author, with_total)
    result: PageWithTotal[AnyRow] = await loader.load(task_id)
    return pages_of(result, lambda row: comment_record(row, with_author=with_author))


async def activity(
    ctx: RequestContext, task_id: int, page: PageRequest, *, with_total: bool
) -> PageWithTotal[ActivityEventRecord]:
    result: PageWithTotal[AnyRow] = await ctx.loaders.activity_page_by_task_id(page, with_total).load(task_id)
    return pages_of(result, activity_record)
