"""Task reads. Every list is one statement: the project, assignee and reporter come by LEFT JOIN
(a LEFT JOIN keeps MariaDB driving from ``tasks``; an inner join let it filesort the join), labels as a
JSON aggregate, counts as subqueries; each only when the caller asks for it."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.dialects.mysql import match
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

from persistence.models import Comment, Label, Project, Task, TaskLabel, User
from persistence.queries.aggregates import json_array_agg, json_object
from persistence.queries.pagination import SortKey, fetch_page_by_ids, fetch_partitioned_pages, to_page
from persistence.queries.projects import project_columns
from persistence.queries.rows import AnyRow, PlainRow, python_types, row_from_json
from persistence.queries.scope import Scope, visible_project_of
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


def visible_tasks(
    organization_id: int | ColumnElement[int],
    sees_all_projects: bool,
    user_id: int | ColumnElement[int],
    tasks: FromClause = _tasks,
) -> list[ColumnElement[bool]]:
    """The tasks a viewer may read: live, of its organization, in a project it sees. The values may be
    bind parameters and ``tasks`` an alias (the compiled operations build a statement once for every
    viewer of a kind, with tasks nested in tasks)."""
    return [
        tasks.c.organization_id == organization_id,
        tasks.c.deleted_at.is_(None),
        visible_project_of(sees_all_projects, user_id, tasks.c.project_id),
    ]


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


_FTS5_TOKEN = re.compile(r"\w+", re.UNICODE)


def _fts5_query(query: str) -> str:
    """Words only, each quoted, any of them: FTS5 syntax in the input can never reach the engine."""
    return " OR ".join(f'"{word}"' for word in _FTS5_TOKEN.findall(query))


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
    """Ranked full-text search: MariaDB FULLTEXT in natural language mode (no operators), SQLite FTS5."""
    conditions = _filtered(scope, where)
    statement = _select(conn.dialect.name, includes)
    if conn.dialect.name == "sqlite":
        fts_query = _fts5_query(query)
        if not fts_query:
            return to_page([], PageRequest(size=size)), 0 if with_total else None
        fts = text("SELECT rowid, -bm25(tasks_fts) AS score FROM tasks_fts WHERE tasks_fts MATCH :q")
        hits = (
            fts.bindparams(q=fts_query).columns(literal_column("rowid"), literal_column("score")).subquery()
        )
        statement = statement.join(hits, hits.c.rowid == _tasks.c.id)
        score: ColumnElement[Any] = hits.c.score
        matched: ColumnElement[bool] = _tasks.c.id.in_(select(hits.c.rowid))
    else:
        # Words only: InnoDB's parser fails on a `*` with no word before it even in natural language mode.
        words = " ".join(_FTS5_TOKEN.findall(query))
        if not words:
            return to_page([], PageRequest(size=size)), 0 if with_total else None
        score = match(_tasks.c.title, _tasks.c.description, against=words).in_natural_language_mode()
        matched = score > 0
    statement = statement.add_columns(score.label("score")).where(*conditions, matched)
    if with_total:
        statement = statement.add_columns(
            _count([*conditions, matched]).scalar_subquery().label("total_count")
        )
    statement = statement.order_by(score.desc(), _tasks.c.id.desc()).offset(offset).limit(size + 1)
    rows = (await conn.execute(statement)).all()
    page = Page(rows[:size], has_next_page=len(rows) > size, has_previous_page=offset > 0)
    total: int | None = None
    if with_total and rows:
        total = int(rows[0].total_count)
    elif with_total:
        # An empty page past the end still reports every match.
        total = 0 if offset == 0 else int((await conn.execute(_count([*conditions, matched]))).scalar_one())
    return page, total
