"""Which record fields a task selection reads (``TaskIncludes.fields``), so a list of titles does not
decode every date and description of each task, its project and its people (the bench: ~1 ms of a
50-task list).

Each GraphQL field of Task, Project and User names the record fields it is built from (TaskRecord's,
and ProjectRecord's and UserRecord's under ``project.``, ``assignee.``, ``reporter.``); a field with
its own resolver names only what that resolver needs from the record. A field missing from these
tables (one added later) makes the whole list read every field again: never a wrong answer, only a
slower one, and a test compares the tables with the schema.
"""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import SelectedField, Selection

from schema.core.selection import flatten

TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": ("id",),
    "key": ("number", "project.key"),
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
    # Objects from the joins: their own selections add their fields (see _NESTED).
    "project": ("project.id",),
    "assignee": ("assignee.id",),
    "reporter": ("reporter.id",),
    # Aggregates the includes add; resolvers that load by the task's id or parent id.
    "labels": (),
    "commentCount": (),
    "parent": ("parent_id",),
    "subtasks": (),
    "attachments": (),
    "comments": (),
    "activity": (),
}
PROJECT_FIELDS: dict[str, tuple[str, ...]] = {
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
USER_FIELDS: dict[str, tuple[str, ...]] = {
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
    ("project", "project.", PROJECT_FIELDS),
    ("assignee", "assignee.", USER_FIELDS),
    ("reporter", "reporter.", USER_FIELDS),
)
# Every object is built with its id (the global id, the loaders' keys, a null assignee's test).
_ALWAYS = frozenset({"id", "project.id", "assignee.id", "reporter.id"})


def _children(fields: Iterable[SelectedField]) -> list[SelectedField]:
    return [child for field in fields for child in flatten(field.selections)]


def _read_by(fields: list[SelectedField], table: dict[str, tuple[str, ...]], prefix: str) -> set[str] | None:
    """The record fields ``fields`` are built from, or None when one of them is not in ``table``."""
    read: set[str] = set()
    for field in fields:
        names = table.get(field.name)
        if names is None:
            return None
        read.update(prefix + name for name in names)
    return read


def task_fields(selections: Iterable[Selection], *also: str) -> frozenset[str] | None:
    """The record fields the selections below ``selections`` (fields whose type is Task) read, plus
    ``also`` (a cursor's order field); None means every field."""
    own = _children(flatten(selections))
    read = _read_by(own, TASK_FIELDS, "")
    if read is None:
        return None
    for name, prefix, table in _NESTED:
        nested = _read_by(_children(f for f in own if f.name == name), table, prefix)
        if nested is None:
            return None
        read |= nested
    return _ALWAYS | read | set(also)
