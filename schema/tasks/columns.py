"""Which row columns a task selection reads, so a list of titles does not decode every date and
description of each task, its project and its people (the bench: ~1 ms of a 50-task list).

Each GraphQL field of Task, Project and User names the columns it is built from; a field with its
own resolver names only what that resolver needs from the row. A field missing from these tables
(one added later) makes the whole list read every column again: never a wrong answer, only a slower
one, and a test compares the tables with the schema.
"""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import SelectedField, Selection

from schema.core.selection import flatten

TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": ("id",),
    "key": ("number", "project__key"),
    "number": ("number",),
    "title": ("title",),
    "description": ("description",),
    "status": ("status",),
    "priority": ("priority",),
    "position": ("position",),
    "dueDate": ("due_date",),
    "version": ("version",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "completedAt": ("completed_at",),
    # Objects from the joins: their own selections add their columns (see _NESTED).
    "project": ("project__id",),
    "assignee": ("assignee__id",),
    "reporter": ("reporter__id",),
    # Aggregates the includes add; resolvers that load by the task's id or parent id.
    "labels": (),
    "commentCount": (),
    "parent": ("parent_id",),
    "subtasks": (),
    "attachments": (),
    "comments": (),
    "activity": (),
}
PROJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": ("id",),
    "key": ("key",),
    "name": ("name",),
    "description": ("description",),
    "archived": ("archived_at",),
    "archivedAt": ("archived_at",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    # Resolvers that load by the project's id.
    "openTaskCount": (),
    "viewerRole": (),
    "labels": (),
    "members": (),
    "tasks": (),
}
USER_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": ("id",),
    "name": ("name",),
    "email": ("email",),
    "role": ("role",),
    "deactivated": ("deactivated_at",),
    "createdAt": ("created_at",),
    # Resolvers that load by the user's id.
    "projects": (),
    "assignedTasks": (),
}
_NESTED = (
    ("project", "project__", PROJECT_COLUMNS),
    ("assignee", "assignee__", USER_COLUMNS),
    ("reporter", "reporter__", USER_COLUMNS),
)
# Every object is built with its id (the global id, the loaders' keys, a null assignee's test).
_ALWAYS = frozenset({"id", "project__id", "assignee__id", "reporter__id"})


def _children(fields: Iterable[SelectedField]) -> list[SelectedField]:
    return [child for field in fields for child in flatten(field.selections)]


def _read_by(fields: list[SelectedField], table: dict[str, tuple[str, ...]], prefix: str) -> set[str] | None:
    """The columns ``fields`` are built from, or None when one of them is not in ``table``."""
    columns: set[str] = set()
    for field in fields:
        read = table.get(field.name)
        if read is None:
            return None
        columns.update(prefix + column for column in read)
    return columns


def task_columns(task_fields: Iterable[Selection], *also: str) -> frozenset[str] | None:
    """The columns the selections below ``task_fields`` (fields whose type is Task) read, plus
    ``also`` (a cursor's order column); None means every column."""
    own = _children(flatten(task_fields))
    columns = _read_by(own, TASK_COLUMNS, "")
    if columns is None:
        return None
    for name, prefix, table in _NESTED:
        nested = _read_by(_children(f for f in own if f.name == name), table, prefix)
        if nested is None:
            return None
        columns |= nested
    return _ALWAYS | columns | set(also)
