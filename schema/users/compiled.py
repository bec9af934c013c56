"""User's fields as the compiled reads plan them (see schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, TypeSpec

USER = TypeSpec(
    "users",
    {
        "id": GlobalId("User"),
        "name": Column("name", "text"),
        "email": Column("email", "text"),
        "role": Column("role", "enum"),
        "deactivated": Column("deactivated_at", "present"),
        "createdAt": Column("created_at", "datetime"),
    },
)
