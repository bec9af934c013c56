"""Task writes. Each is one statement whose WHERE carries the permission and validity checks, so a
successful write costs one statement; when it changes nothing, ``task_write_state`` says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from persistence.models import Project, Task, User
from persistence.queries.aggregates import greatest
from persistence.queries.guards import insert_guarded
from persistence.queries.scope import Scope, may_edit_project, user_sees_project, visible_project
from persistence.values import TaskDraft

# Aliases built once: aliased() copies every column of its table, about 1 ms per call.
_parent_task = aliased(Task, name="parent")
_previous_task = aliased(Task, name="previous")


_tasks = Task.__table__
_projects = Project.__table__
# New tasks go to the end of their status column, this far apart so moves can land between them.
POSITION_STEP = 1024.0


def assignable(
    user_id: int | None, project_id: ColumnElement[int], organization_id: ColumnElement[int]
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
    parent_id: int | None, project_id: ColumnElement[int], task_id: ColumnElement[int] | None = None
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


async def insert_task(conn: AsyncConnection, scope: Scope, draft: TaskDraft, now: datetime) -> int | None:
    """The next number of the project (never reused: the project's counter keeps the highest ever
    handed out), at the end of its status column. None when the checks refused it.

    One INSERT ... VALUES (an INSERT ... SELECT takes MariaDB's table-wide AUTO-INC lock and
    concurrent creates deadlock on it). The checks ride in the project_id value: it is the project's
    id only when every check passes and NULL otherwise, which the NOT NULL column refuses.
    """
    dialect = conn.dialect.name
    project = literal(draft.project_id, Integer())
    guarded_project = select(_projects.c.id).where(
        _projects.c.id == draft.project_id,
        _projects.c.organization_id == scope.organization_id,
        _projects.c.archived_at.is_(None),
        visible_project(scope, _projects.c.id),
        may_edit_project(scope, _projects.c.id),
        assignable(draft.assignee_id, _projects.c.id, _projects.c.organization_id),
        valid_parent(draft.parent_id, _projects.c.id),
    )
    highest = select(func.coalesce(func.max(_previous_task.number), 0)).where(
        _previous_task.project_id == project
    )
    counter = select(_projects.c.task_counter).where(_projects.c.id == project)
    last_position = select(func.coalesce(func.max(_previous_task.position), 0.0)).where(
        _previous_task.project_id == project, _previous_task.status == draft.status
    )
    values: dict[str, Any] = {
        "organization_id": scope.organization_id,
        "project_id": guarded_project.scalar_subquery(),
        "number": greatest(dialect, highest.scalar_subquery(), counter.scalar_subquery()) + 1,
        "title": draft.title,
        "description": draft.description,
        "status": draft.status,
        "priority": draft.priority,
        "position": last_position.scalar_subquery() + POSITION_STEP,
        "assignee_id": draft.assignee_id,
        "reporter_id": scope.user_id,
        "due_date": draft.due_date,
        "parent_id": draft.parent_id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    return await insert_guarded(
        conn, insert(Task).values(**values).returning(_tasks.c.id), "tasks", "project_id"
    )


async def update_task(
    conn: AsyncConnection, scope: Scope, task_id: int, version: int, values: dict[str, Any], now: datetime
) -> bool:
    """Applies ``values`` only if the task is live, visible, editable by the scope and still at
    ``version`` (optimistic concurrency: a stale version changes nothing). A new assignee must be
    able to see the project, a new parent must be a live task of it."""
    checks: list[ColumnElement[bool]] = []
    if "assignee_id" in values:
        checks.append(assignable(values["assignee_id"], _tasks.c.project_id, _tasks.c.organization_id))
    if "parent_id" in values:
        checks.append(valid_parent(values["parent_id"], _tasks.c.project_id, _tasks.c.id))
    statement = (
        update(Task)
        .where(
            _tasks.c.id == task_id,
            _tasks.c.organization_id == scope.organization_id,
            _tasks.c.deleted_at.is_(None),
            _tasks.c.version == version,
            visible_project(scope, _tasks.c.project_id),
            may_edit_project(scope, _tasks.c.project_id),
            *checks,
        )
        .values(**values, version=_tasks.c.version + 1, updated_at=now)
    )
    result = await conn.execute(statement)
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
