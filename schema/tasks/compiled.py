"""Task's fields as the compiled reads plan them (schema/engine/compiler): each field the SQL value it
is, in persistence/compiled/spec.py's vocabulary. A field missing here sends its operation through the
resolvers; tests/engine/test_registry.py lists the covered fields, so a new one is noticed."""

from __future__ import annotations

from persistence.compiled.spec import (
    ById,
    ByKey,
    Column,
    FirstPage,
    GlobalId,
    KeyAndNumber,
    LinkedList,
    LiveCount,
    Nodes,
    RootSpec,
    ToOne,
    TotalCount,
    TypeSpec,
)

TASK = TypeSpec(
    "tasks",
    {
        "id": GlobalId("Task"),
        "key": KeyAndNumber("project_id", "key", "number"),
        "number": Column("number", "int"),
        "title": Column("title", "text"),
        "description": Column("description", "text"),
        "status": Column("status", "enum"),
        "priority": Column("priority", "int"),
        "position": Column("position", "float"),
        "dueDate": Column("due_date", "date"),
        "version": Column("version", "int"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
        "completedAt": Column("completed_at", "datetime"),
        "project": ToOne("projects", "project_id"),
        "assignee": ToOne("users", "assignee_id"),
        "reporter": ToOne("users", "reporter_id"),
        # Only the task's own project's labels, by name then id, as the resolvers give them.
        "labels": LinkedList("task_labels", "task_id", "label_id", "labels", "project_id", ("name", "id")),
        "commentCount": LiveCount("comments", "task_id", "deleted_at"),
    },
)

TASK_CONNECTION = TypeSpec(None, {"nodes": Nodes(), "totalCount": TotalCount()})

# Query's task roots: `task(id:)`, `taskByKey(key:)` and `tasks(first:)` in the default order (newest
# first).
ROOTS: dict[str, RootSpec] = {
    "task": ById("tasks", "Task", "id", "task"),
    "taskByKey": ByKey("tasks", "project_id", "key", "number", "task"),
    "tasks": FirstPage("tasks", "created_at"),
}
