"""Project's and Label's fields as the compiled reads plan them (see schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, TypeSpec

PROJECT = TypeSpec(
    "projects",
    {
        "id": GlobalId("Project"),
        "key": Column("key", "text"),
        "name": Column("name", "text"),
        "description": Column("description", "text"),
        "archived": Column("archived_at", "present"),
        "archivedAt": Column("archived_at", "datetime"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
    },
)

LABEL = TypeSpec(
    "labels",
    {"id": GlobalId("Label"), "name": Column("name", "text"), "color": Column("color", "text")},
)
