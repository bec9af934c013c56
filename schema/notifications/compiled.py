"""Notification's fields as the compiled reads plan them (node(id:) and nodes(ids:) only; see
schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, ToOne, TypeSpec

# One of the viewer's own notifications. Its comment (joined only while its task is visible, and
# shown without its author) runs on the resolvers.
NOTIFICATION = TypeSpec(
    "notifications",
    {
        "id": GlobalId("Notification"),
        "kind": Column("kind", "enum"),
        "createdAt": Column("created_at", "datetime"),
        "readAt": Column("read_at", "datetime"),
        "read": Column("read_at", "present"),
        # The task while the viewer may read it, as Notification.task reads it.
        "task": ToOne("tasks", "task_id", tenancy="tasks"),
        "actor": ToOne("users", "actor_id"),
    },
)
