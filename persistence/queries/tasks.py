"""Task reads. Every list is one statement: the project, assignee and reporter come by LEFT JOIN
(a LEFT JOIN keeps MariaDB driving from ``tasks``; an inner join let it filesort the join), labels as a
JSON aggregate, counts as subqueries; each only when the caller asks for it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

from persistence.models import Comment, Label, Project, Task, TaskLabel, User
from persistence.queries.aggregates import json_array_agg, json_object
from persistence.queries.pagination import SortKey, fetch_page_by_ids, fetch_partitioned_pages, to_page
from persistence.queries.projects import project_columns
from persistence.queries.rows import AnyRow, PlainRow, python_types, row_from_json
from persistence.queries.scope import Scope

# Re-exported: it lives with the other tenancy filters, and the compiled statements import it from here.
from persistence.queries.scope import visible_tasks as visible_tasks  # noqa: PLC0414
from persistence.queries.search import ranked_matches, search_words
from persistence.queries.users import user_columns
from persistence.values import Page, PageRequest, TaskFilter, TaskIncludes, TaskOrder

TASK_FIELDS = (
    "id",
    "organization_id",
    "project_id",
    "number",
    "title",
    "description",
    "status",
    "priority",
    "position",
    "assignee_id",
    "reporter_id",
    "due_date",
    "parent_id",
    "version",
    "created_at",
    "updated_at",
    "completed_at",
)

_tasks = Task.__table__
_projects = Project.__table__
_assignees = User.__table__.alias("assignee")
_reporters = User.__table__.alias("reporter")


@functools.lru_cache(maxsize=64)
def _select(dialect: str, includes: TaskIncludes) -> Select[Any]:
    """Built once per dialect and includes (labelling 30-odd columns is ~0.1 ms a request); a Select
    is immutable, so every caller's ``.where()`` makes its own copy."""
    columns: list[ColumnElement[Any]] = [_tasks.c[name] for name in TASK_FIELDS]
    columns += project_columns(_projects, "project__")
    source: FromClause = _tasks.outerjoin(
        _projects,
        (_projects.c.id == _tasks.c.project_id) & (_projects.c.organization_id == _tasks.c.organization_id),
    )
    if includes.assignee:
        columns += user_columns(_assignees, "assignee__")
        source = source.outerjoin(
            _assignees,
            (_assignees.c.id == _tasks.c.assignee_id)
            & (_assignees.c.organization_id == _tasks.c.organization_id),
        )
    if includes.reporter:
        columns += user_columns(_reporters, "reporter__")
        source = source.outerjoin(
            _reporters,
            (_reporters.c.id == _tasks.c.reporter_id)
            & (_reporters.c.organization_id == _tasks.c.organization_id),
        )
    if includes.fields is not None:
        # Decoding a column the answer never shows is most of a list's driver time (dates above all).
        # A record field's path names its column: ``project.key`` is ``project__key``.
        wanted = {path.replace(".", "__") for path in includes.fields} | {"id"}
        columns = [column for column in columns if column.key in wanted]
    if includes.labels:
        labels, task_labels = Label.__table__, TaskLabel.__table__
        element = json_object(dialect, "id", labels.c.id, "name", labels.c.name, "color", labels.c.color)
        aggregated = (
            select(json_array_agg(dialect, element))
            .select_from(task_labels.join(labels, labels.c.id == task_labels.c.label_id))
            # Only the task's own project's labels: a link to any other label is never shown.
            .where(task_labels.c.task_id == _tasks.c.id, labels.c.project_id == _tasks.c.project_id)
            .scalar_subquery()
        )
        columns.append(aggregated.label("labels_json"))
    if includes.comment_count:
        comments = Comment.__table__
        counted = (
            select(func.count())
            .where(comments.c.task_id == _tasks.c.id, comments.c.deleted_at.is_(None))
            .scalar_subquery()
        )
        columns.append(counted.label("comment_count"))
    return select(*columns).select_from(source)


def _in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    return visible_tasks(scope.organization_id, scope.sees_all_projects, scope.user_id)


def filter_conditions(where: TaskFilter, tasks: FromClause = _tasks) -> list[ColumnElement[bool]]:
    """The filter's conditions on ``tasks``. Its values may be bind parameters (the compiled
    operations put one in each place a value goes, lists included)."""
    conditions: list[ColumnElement[bool]] = []
    if where.project_ids is not None:
        conditions.append(tasks.c.project_id.in_(where.project_ids))
    if where.statuses is not None:
        conditions.append(tasks.c.status.in_(where.statuses))
    if where.priorities is not None:
        conditions.append(tasks.c.priority.in_(where.priorities))
    if where.assignee_ids is not None:
        conditions.append(tasks.c.assignee_id.in_(where.assignee_ids))
    if where.label_ids is not None:
        task_labels = TaskLabel.__table__
        labelled = select(task_labels.c.task_id).where(task_labels.c.label_id.in_(where.label_ids))
        conditions.append(tasks.c.id.in_(labelled))
    if where.due_before is not None:
        conditions.append(tasks.c.due_date < where.due_before)
    if where.due_after is not None:
        conditions.append(tasks.c.due_date > where.due_after)
    if where.parent_id is not None:
        conditions.append(tasks.c.parent_id == where.parent_id)
    return conditions


def _filtered(scope: Scope, where: TaskFilter) -> list[ColumnElement[bool]]:
    return [*_in_scope(scope), *filter_conditions(where)]


def _sort_key(order: TaskOrder) -> SortKey:
    return SortKey(_tasks.c[order.field.value], _tasks.c.id, descending=order.descending)


def _count(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    return select(func.count()).select_from(_tasks).where(*conditions)


async def list_tasks(
    conn: AsyncConnection,
    scope: Scope,
    where: TaskFilter,
    order: TaskOrder,
    page: PageRequest,
    includes: TaskIncludes,
    *,
    with_total: bool,
) -> tuple[Page[AnyRow], int | None]:
    conditions = _filtered(scope, where)
    count = _count(conditions) if with_total else None
    ids = select(_tasks.c.id).where(*conditions)
    return await fetch_page_by_ids(
        conn, _select(conn.dialect.name, includes), ids, _sort_key(order), page, count
    )


async def tasks_by_ids(
    conn: AsyncConnection, scope: Scope, ids: Sequence[int], includes: TaskIncludes
) -> Sequence[AnyRow]:
    statement = _select(conn.dialect.name, includes).where(_tasks.c.id.in_(ids), *_in_scope(scope))
    rows: Sequence[AnyRow] = (await conn.execute(statement)).all()
    return rows


async def live_tasks_by_ids(
    conn: AsyncConnection, ids: Sequence[int], includes: TaskIncludes
) -> Sequence[AnyRow]:
    """The live tasks among ``ids``, whatever their organization (the relay's snapshots, which match
    each to its event's organization): one statement for a batch that spans several."""
    statement = _select(conn.dialect.name, includes).where(
        _tasks.c.id.in_(ids), _tasks.c.deleted_at.is_(None)
    )
    rows: Sequence[AnyRow] = (await conn.execute(statement)).all()
    return rows


# Every join and aggregate a task selection can ask for: one row of this shape serves any selection.
EVERYTHING = TaskIncludes(assignee=True, reporter=True, labels=True, comment_count=True)


def _python_types() -> dict[str, type]:
    return python_types(_select("mysql", EVERYTHING).selected_columns)


_TYPES_OF_EVERYTHING = _python_types()


def task_row_from_json(fields: dict[str, Any]) -> PlainRow:
    """The inverse of JSON-encoding a row read with ``EVERYTHING`` (orjson writes datetimes in ISO
    form and enums as their values): the same Python types as the database gave."""
    return row_from_json(fields, _TYPES_OF_EVERYTHING)


async def task_by_key(
    conn: AsyncConnection, scope: Scope, project_key: str, number: int, includes: TaskIncludes
) -> AnyRow | None:
    statement = _select(conn.dialect.name, includes).where(
        _projects.c.key == project_key, _tasks.c.number == number, *_in_scope(scope)
    )
    row: AnyRow | None = (await conn.execute(statement)).first()
    return row


async def tasks_by_parent_ids(
    conn: AsyncConnection,
    scope: Scope,
    partition: str,
    parent_ids: Sequence[int],
    where: TaskFilter,
    order: TaskOrder,
    page: PageRequest,
    includes: TaskIncludes,
    *,
    with_total: bool,
) -> dict[int, tuple[Page[AnyRow], int | None]]:
    """One page of tasks per parent, where the parent is a task column (``assignee_id``, ``parent_id``,
    ``project_id``)."""
    statement = _select(conn.dialect.name, includes).where(*_filtered(scope, where))
    return await fetch_partitioned_pages(
        conn, statement, _tasks.c[partition], parent_ids, _sort_key(order), page, with_total=with_total
    )


async def search_tasks(
    conn: AsyncConnection,
    scope: Scope,
    query: str,
    where: TaskFilter,
    offset: int,
    size: int,
    includes: TaskIncludes,
    *,
    with_total: bool,
) -> tuple[Page[AnyRow], int | None]:
    """Ranked full-text search (persistence/queries/search.py): one statement whose page of ids, best
    first, comes with the total as a window count; the wide row is read for that page only."""
    dialect = conn.dialect.name
    words = search_words(dialect, query)
    if words is None:
        return to_page([], PageRequest(size=size)), 0 if with_total else None
    # An owner's search is driven by the FULLTEXT index unless a project filter bounds the scan.
    by_tenancy = not scope.sees_all_projects or where.project_ids is not None
    ranked = ranked_matches(
        dialect,
        scope.organization_id,
        scope.sees_all_projects,
        scope.user_id,
        words,
        filter_conditions(where),
        by_tenancy=by_tenancy,
    ).subquery("ranked")
    picked = select(ranked.c.id, ranked.c.score)
    if with_total:
        picked = picked.add_columns(func.count().over().label("total_count"))
    page_ids = (
        picked.order_by(ranked.c.score.desc(), ranked.c.id.desc()).offset(offset).limit(size + 1)
    ).subquery("page")
    statement = (
        _select(dialect, includes)
        .join(page_ids, page_ids.c.id == _tasks.c.id)
        .add_columns(*[c for c in page_ids.c if c.key != "id"])
        .order_by(page_ids.c.score.desc(), _tasks.c.id.desc())
    )
    rows = (await conn.execute(statement)).all()
    page = Page(rows[:size], has_next_page=len(rows) > size, has_previous_page=offset > 0)
    total: int | None = None
    if with_total and rows:
        total = int(rows[0].total_count)
    elif with_total:
        # An empty page past the end still reports every match.
        count = select(func.count()).select_from(ranked)
        total = 0 if offset == 0 else int((await conn.execute(count)).scalar_one())
    return page, total
