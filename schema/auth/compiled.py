"""ApiKey's fields as the compiled reads plan them (node(id:) and nodes(ids:) only; see
schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, TypeSpec

API_KEY = TypeSpec(
    "api_keys",
    {
        "id": GlobalId("ApiKey"),
        "name": Column("name", "text"),
        "prefix": Column("prefix", "text"),
        "scope": Column("scope", "enum"),
        "createdById": GlobalId("User", column="created_by_user_id"),
        "expiresAt": Column("expires_at", "datetime"),
        "revokedAt": Column("revoked_at", "datetime"),
        "createdAt": Column("created_at", "datetime"),
    },
)
