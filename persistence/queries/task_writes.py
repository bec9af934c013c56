"""Task writes. Each is one statement whose WHERE carries the permission and validity checks, so a
successful write costs one statement; when it changes nothing, ``task_write_state`` says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Insert,
    Integer,
    Update,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from persistence.models import Project, Task, User
from persistence.prepared import PreparedStatements
from persistence.queries.aggregates import greatest
from persistence.queries.guards import guarded_id
from persistence.queries.scope import (
    Scope,
    may_edit_project,
    may_edit_project_of,
    user_sees_project,
    visible_project,
    visible_project_of,
)
from persistence.values import TaskDraft

# Aliases built once: aliased() copies every column of its table, about 1 ms per call.
_parent_task = aliased(Task, name="parent")
_previous_task = aliased(Task, name="previous")


_tasks = Task.__table__
_projects = Project.__table__
# New tasks go to the end of their status column, this far apart so moves can land between them.
POSITION_STEP = 1024.0


def assignable(
    user_id: int | ColumnElement[int] | None,
    project_id: ColumnElement[int],
    organization_id: ColumnElement[int],
) -> ColumnElement[bool]:
    """Nobody, or an active user of the organization who can see the project."""
    if user_id is None:
        return true()
    users = User.__table__
    return exists().where(
        users.c.id == user_id,
        users.c.organization_id == organization_id,
        users.c.deactivated_at.is_(None),
        user_sees_project(users, project_id),
    )


def valid_parent(
    parent_id: int | ColumnElement[int] | None,
    project_id: ColumnElement[int],
    task_id: ColumnElement[int] | None = None,
) -> ColumnElement[bool]:
    """No parent, or a live task of the same project that is not the task itself (nor its child)."""
    if parent_id is None:
        return true()
    conditions = [
        _parent_task.id == parent_id,
        _parent_task.project_id == project_id,
        _parent_task.deleted_at.is_(None),
    ]
    if task_id is not None:
        conditions += [
            _parent_task.id != task_id,
            or_(_parent_task.parent_id.is_(None), _parent_task.parent_id != task_id),
        ]
    return exists().where(*conditions)


def _new(column: str) -> BindParameter[Any]:
    """The request's value for ``column`` (a name apart from the column's own, which SQLAlchemy keeps
    for the VALUES and SET clauses it writes itself)."""
    return bindparam(f"new_{column}", type_=_tasks.c[column].type)


_ORGANIZATION = bindparam("organization", type_=Integer)
_VIEWER = bindparam("viewer", type_=Integer)
_NOW = bindparam("now", type_=_tasks.c.updated_at.type)
_TASK = bindparam("task", type_=Integer)
_VERSION = bindparam("expected_version", type_=Integer)
_PROJECT = bindparam("project", type_=Integer)
_DRAFTED = ("title", "description", "status", "priority", "assignee_id", "due_date", "parent_id")
_WRITABLE = (*_DRAFTED, "position", "completed_at", "deleted_at")
_REQUEST = frozenset(
    ["organization", "viewer", "now", "task", "expected_version", "project"]
    + [f"new_{column}" for column in _WRITABLE]
)


def _insert_statement(
    dialect: str, sees_all_projects: bool, with_assignee: bool, with_parent: bool
) -> Insert:
    assignee = _new("assignee_id") if with_assignee else None
    guarded_project = select(_projects.c.id).where(
        _projects.c.id == _PROJECT,
        _projects.c.organization_id == _ORGANIZATION,
        _projects.c.archived_at.is_(None),
        visible_project_of(sees_all_projects, _VIEWER, _projects.c.id),
        may_edit_project_of(sees_all_projects, _VIEWER, _projects.c.id),
        assignable(assignee, _projects.c.id, _projects.c.organization_id),
        valid_parent(_new("parent_id") if with_parent else None, _projects.c.id),
    )
    highest = select(func.coalesce(func.max(_previous_task.number), 0)).where(
        _previous_task.project_id == _PROJECT
    )
    counter = select(_projects.c.task_counter).where(_projects.c.id == _PROJECT)
    last_position = select(func.coalesce(func.max(_previous_task.position), 0.0)).where(
        _previous_task.project_id == _PROJECT, _previous_task.status == _new("status")
    )
    values: dict[str, Any] = {column: _new(column) for column in _DRAFTED}
    values.update(
        organization_id=_ORGANIZATION,
        project_id=guarded_project.scalar_subquery(),
        number=greatest(dialect, highest.scalar_subquery(), counter.scalar_subquery()) + 1,
        position=last_position.scalar_subquery() + POSITION_STEP,
        reporter_id=_VIEWER,
        version=1,
        created_at=_NOW,
        updated_at=_NOW,
    )
    return insert(Task).values(**values).returning(_tasks.c.id)


_INSERTS = PreparedStatements(_insert_statement, _REQUEST)


async def insert_task(conn: AsyncConnection, scope: Scope, draft: TaskDraft, now: datetime) -> int | None:
    """The next number of the project (never reused: the project's counter keeps the highest ever
    handed out), at the end of its status column. None when the checks refused it.

    One INSERT ... VALUES (an INSERT ... SELECT takes MariaDB's table-wide AUTO-INC lock and
    concurrent creates deadlock on it). The checks ride in the project_id value: it is the project's
    id only when every check passes and NULL otherwise, which the NOT NULL column refuses.
    """
    shape = (scope.sees_all_projects, draft.assignee_id is not None, draft.parent_id is not None)
    values: dict[str, Any] = {f"new_{column}": getattr(draft, column) for column in _DRAFTED}
    values.update(organization=scope.organization_id, viewer=scope.user_id, project=draft.project_id, now=now)
    return await guarded_id(_INSERTS.execute(conn, shape, values), "tasks", "project_id")


def _update_statement(
    dialect: str, columns: frozenset[str], sees_all_projects: bool, with_assignee: bool, with_parent: bool
) -> Update:
    checks: list[ColumnElement[bool]] = []
    if "assignee_id" in columns:
        assignee = _new("assignee_id") if with_assignee else None
        checks.append(assignable(assignee, _tasks.c.project_id, _tasks.c.organization_id))
    if "parent_id" in columns:
        parent = _new("parent_id") if with_parent else None
        checks.append(valid_parent(parent, _tasks.c.project_id, _tasks.c.id))
    return (
        update(Task)
        .where(
            _tasks.c.id == _TASK,
            _tasks.c.organization_id == _ORGANIZATION,
            _tasks.c.deleted_at.is_(None),
            _tasks.c.version == _VERSION,
            visible_project_of(sees_all_projects, _VIEWER, _tasks.c.project_id),
            may_edit_project_of(sees_all_projects, _VIEWER, _tasks.c.project_id),
            *checks,
        )
        .values(
            {
                **{column: _new(column) for column in sorted(columns)},
                "version": _tasks.c.version + 1,
                "updated_at": _NOW,
            }
        )
    )


# Per set of columns (a handful: what taskUpdate, taskMove, taskAssign and taskDelete set).
_UPDATES = PreparedStatements(_update_statement, _REQUEST)


async def update_task(
    conn: AsyncConnection, scope: Scope, task_id: int, version: int, values: dict[str, Any], now: datetime
) -> bool:
    """Applies ``values`` only if the task is live, visible, editable by the scope and still at
    ``version`` (optimistic concurrency: a stale version changes nothing). A new assignee must be
    able to see the project, a new parent must be a live task of it."""
    shape = (
        frozenset(values),
        scope.sees_all_projects,
        values.get("assignee_id") is not None,
        values.get("parent_id") is not None,
    )
    given = {f"new_{column}": value for column, value in values.items()}
    given.update(
        task=task_id,
        organization=scope.organization_id,
        viewer=scope.user_id,
        expected_version=version,
        now=now,
    )
    result = await _UPDATES.execute(conn, shape, given)
    return result.rowcount == 1


@dataclass(frozen=True)
class TaskWriteState:
    """Why a write changed nothing: read only on that path."""

    task_id: int
    project_id: int
    version: int
    may_edit: bool
    deleted: bool


async def task_write_state(conn: AsyncConnection, scope: Scope, task_id: int) -> TaskWriteState | None:
    """None when the task does not exist or the scope may not see it (the two read alike)."""
    statement = select(
        _tasks.c.id,
        _tasks.c.project_id,
        _tasks.c.version,
        _tasks.c.deleted_at,
        may_edit_project(scope, _tasks.c.project_id).label("may_edit"),
    ).where(
        _tasks.c.id == task_id,
        _tasks.c.organization_id == scope.organization_id,
        visible_project(scope, _tasks.c.project_id),
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return TaskWriteState(row.id, row.project_id, row.version, bool(row.may_edit), row.deleted_at is not None)


@dataclass(frozen=True)
class ProjectWriteState:
    project_id: int
    may_edit: bool
    archived: bool
    assignee_ok: bool
    parent_ok: bool


async def project_write_state(
    conn: AsyncConnection, scope: Scope, project_id: int, assignee_id: int | None, parent_id: int | None
) -> ProjectWriteState | None:
    """Why a task could not be created in a project; None when the project is not visible."""
    statement = select(
        _projects.c.id,
        _projects.c.archived_at,
        may_edit_project(scope, _projects.c.id).label("may_edit"),
        assignable(assignee_id, _projects.c.id, _projects.c.organization_id).label("assignee_ok"),
        valid_parent(parent_id, _projects.c.id).label("parent_ok"),
    ).where(
        _projects.c.id == project_id,
        _projects.c.organization_id == scope.organization_id,
        visible_project(scope, _projects.c.id),
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return ProjectWriteState(
        row.id, bool(row.may_edit), row.archived_at is not None, bool(row.assignee_ok), bool(row.parent_ok)
    )
