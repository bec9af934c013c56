"""Webhook's fields as the compiled reads plan them (node(id:) and nodes(ids:) only; see
schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, TypeSpec

# An endpoint of the organization, for its owners and admins: its own columns (its delivery log, a
# connection with a status filter, runs on the resolvers).
WEBHOOK = TypeSpec(
    "webhook_endpoints",
    {
        "id": GlobalId("Webhook"),
        "url": Column("url", "text"),
        "eventTypes": Column("event_types", "json"),
        "active": Column("active", "bool"),
        "description": Column("description", "text"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
    },
)
