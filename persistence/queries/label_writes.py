"""Label writes, and the links between tasks and labels. Each write is one guarded statement (two for a
label's delete: its links go first); a ``*_state`` read says why when one changed nothing."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, delete, exists, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Label, Project, Task, TaskLabel
from persistence.queries.guards import refused_by_guard
from persistence.queries.scope import Scope, may_edit_project, visible_project

_labels = Label.__table__
_projects = Project.__table__
_tasks = Task.__table__
_task_labels = TaskLabel.__table__


class DuplicateLabelName(Exception):
    """Another label of the project has this name: the unique index refused the write."""


@dataclass(frozen=True)
class LabelRow:
    id: int
    project_id: int
    name: str
    color: str


def _in_organization(scope: Scope, project_id: ColumnElement[int]) -> ColumnElement[bool]:
    return project_id.in_(select(_projects.c.id).where(_projects.c.organization_id == scope.organization_id))


def _editable_label(scope: Scope) -> list[ColumnElement[bool]]:
    """The label's project is the scope's to see and to edit."""
    project_id = _labels.c.project_id
    return [
        _in_organization(scope, project_id),
        visible_project(scope, project_id),
        may_edit_project(scope, project_id),
    ]


def _is_duplicate_name(error: IntegrityError) -> bool:
    text = str(error.orig)
    return "uq_labels_project_id_name" in text or "UNIQUE constraint failed: labels.project_id" in text


async def insert_label(
    conn: AsyncConnection, scope: Scope, project_id: int, name: str, color: str
) -> int | None:
    """The new label's id; None when the checks refused it; DuplicateLabelName for a taken name.

    One INSERT ... VALUES whose project_id is the project's id only when the scope may edit it (and
    it is not archived), else NULL, which the NOT NULL column refuses: the refusal comes before the
    unique index is consulted, so a name clash never tells an outsider what a project holds.
    """
    guarded_project = select(_projects.c.id).where(
        _projects.c.id == project_id,
        _projects.c.organization_id == scope.organization_id,
        _projects.c.archived_at.is_(None),
        visible_project(scope, _projects.c.id),
        may_edit_project(scope, _projects.c.id),
    )
    statement = (
        insert(Label)
        .values(project_id=guarded_project.scalar_subquery(), name=name, color=color)
        .returning(_labels.c.id)
    )
    try:
        row = (await conn.execute(statement)).one()
    except IntegrityError as error:
        if refused_by_guard(error, "labels", "project_id"):
            return None
        if _is_duplicate_name(error):
            raise DuplicateLabelName(name) from error
        raise
    return int(row.id)


async def update_label(conn: AsyncConnection, scope: Scope, label_id: int, values: dict[str, Any]) -> bool:
    """Applies ``values`` if the scope may edit the label's project; DuplicateLabelName for a taken name."""
    statement = update(Label).where(_labels.c.id == label_id, *_editable_label(scope)).values(**values)
    try:
        result = await conn.execute(statement)
    except IntegrityError as error:
        if _is_duplicate_name(error):
            raise DuplicateLabelName(str(values.get("name"))) from error
        raise
    # MariaDB reports rows matched, not changed (SQLAlchemy sets CLIENT.FOUND_ROWS): a rename to the
    # same name still counts as done.
    return result.rowcount == 1


async def delete_label(conn: AsyncConnection, scope: Scope, label_id: int) -> LabelRow | None:
    """Removes the label and its links to tasks; returns what it was, or None when refused.

    The links go first (their foreign key needs the label). Their DELETE locks the label's range of
    the task_labels index, so a concurrent taskLabelAdd cannot slip a link in between the two
    statements: it waits for this transaction, or deadlocks with it and ``run_write`` retries the
    loser (which then finds the label gone).
    """
    editable = exists().where(_labels.c.id == label_id, *_editable_label(scope))
    await conn.execute(delete(TaskLabel).where(_task_labels.c.label_id == label_id, editable))
    statement = (
        delete(Label)
        .where(_labels.c.id == label_id, *_editable_label(scope))
        .returning(_labels.c.id, _labels.c.project_id, _labels.c.name, _labels.c.color)
    )
    row = (await conn.execute(statement)).first()
    return None if row is None else LabelRow(row.id, row.project_id, row.name, row.color)


@dataclass(frozen=True)
class LabelState:
    label: LabelRow
    may_edit: bool


async def label_state(conn: AsyncConnection, scope: Scope, label_id: int) -> LabelState | None:
    """The label as the scope sees it; None when it does not exist or its project is hidden."""
    statement = select(
        _labels.c.id,
        _labels.c.project_id,
        _labels.c.name,
        _labels.c.color,
        may_edit_project(scope, _labels.c.project_id).label("may_edit"),
    ).where(
        _labels.c.id == label_id,
        _in_organization(scope, _labels.c.project_id),
        visible_project(scope, _labels.c.project_id),
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return LabelState(LabelRow(row.id, row.project_id, row.name, row.color), bool(row.may_edit))


# --- task_labels ---------------------------------------------------------------------------------


def _labellable_task(scope: Scope, task_id: ColumnElement[int], label_id: int) -> list[ColumnElement[bool]]:
    """The task is live, visible and editable, and the label is one of its project's."""
    own_label = exists().where(_labels.c.id == label_id, _labels.c.project_id == _tasks.c.project_id)
    return [
        _tasks.c.id == task_id,
        _tasks.c.organization_id == scope.organization_id,
        _tasks.c.deleted_at.is_(None),
        visible_project(scope, _tasks.c.project_id),
        may_edit_project(scope, _tasks.c.project_id),
        own_label,
    ]


class LinkOutcome(enum.Enum):
    ADDED = "added"
    ALREADY_THERE = "already_there"
    REFUSED = "refused"


async def add_task_label(conn: AsyncConnection, scope: Scope, task_id: int, label_id: int) -> LinkOutcome:
    """One INSERT ... VALUES whose task_id is NULL (refused by the column) unless every check passes;
    a second link of the same pair is refused by the primary key, which makes adding idempotent."""
    guarded_task = select(_tasks.c.id).where(*_labellable_task(scope, literal(task_id, Integer()), label_id))
    statement = insert(TaskLabel).values(task_id=guarded_task.scalar_subquery(), label_id=label_id)
    try:
        await conn.execute(statement)
    except IntegrityError as error:
        text = str(error.orig)
        if refused_by_guard(error, "task_labels", "task_id"):
            return LinkOutcome.REFUSED
        # The label was deleted after the guard read it (its delete commits first): refused too.
        if "fk_task_labels_label_id_labels" in text or "FOREIGN KEY constraint failed" in text:
            return LinkOutcome.REFUSED
        if "PRIMARY" in text or "UNIQUE constraint failed: task_labels" in text:
            return LinkOutcome.ALREADY_THERE
        raise
    return LinkOutcome.ADDED


async def remove_task_label(conn: AsyncConnection, scope: Scope, task_id: int, label_id: int) -> bool:
    """False when nothing was removed: refused, or there was no such link (``task_label_state`` tells)."""
    guard = exists().where(*_labellable_task(scope, _task_labels.c.task_id, label_id))
    statement = delete(TaskLabel).where(
        _task_labels.c.task_id == task_id, _task_labels.c.label_id == label_id, guard
    )
    result = await conn.execute(statement)
    return result.rowcount == 1


@dataclass(frozen=True)
class TaskLabelState:
    may_edit: bool
    # The label is one of the task's project's.
    label_in_project: bool
    # The label exists where the scope can see it (else it reads as missing, not as misplaced).
    label_visible: bool


async def task_label_state(
    conn: AsyncConnection, scope: Scope, task_id: int, label_id: int
) -> TaskLabelState | None:
    """Why a link write changed nothing; None when the task is missing, deleted or hidden."""
    label_projects = _projects.alias("label_project")
    in_project = exists().where(_labels.c.id == label_id, _labels.c.project_id == _tasks.c.project_id)
    visible_label = exists().where(
        _labels.c.id == label_id,
        label_projects.c.id == _labels.c.project_id,
        label_projects.c.organization_id == scope.organization_id,
        visible_project(scope, label_projects.c.id),
    )
    statement = select(
        may_edit_project(scope, _tasks.c.project_id).label("may_edit"),
        in_project.label("label_in_project"),
        visible_label.label("label_visible"),
    ).where(
        _tasks.c.id == task_id,
        _tasks.c.organization_id == scope.organization_id,
        _tasks.c.deleted_at.is_(None),
        visible_project(scope, _tasks.c.project_id),
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return TaskLabelState(bool(row.may_edit), bool(row.label_in_project), bool(row.label_visible))
