"""Webhook's fields as the compiled reads plan them (node(id:) and nodes(ids:) only; see
schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, OwnedList, Prefixed, TypeSpec

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

# One POST of a delivery.
WEBHOOK_ATTEMPT = TypeSpec(
    "webhook_attempts",
    {
        "number": Column("number", "int"),
        "startedAt": Column("started_at", "datetime"),
        "durationMs": Column("duration_ms", "int"),
        "responseCode": Column("response_code", "int"),
        "outcome": Column("outcome", "enum"),
        "error": Column("error", "text"),
    },
)

# A delivery of a live endpoint of the organization, for its owners and admins, with its attempts.
WEBHOOK_DELIVERY = TypeSpec(
    "webhook_deliveries",
    {
        "id": GlobalId("WebhookDelivery"),
        "deliveryId": Prefixed("whd_"),
        "eventType": Column("event_type", "text"),
        "eventId": GlobalId("ActivityEvent", column="event_id"),
        "status": Column("status", "enum"),
        "attemptCount": Column("attempts", "int"),
        "lastResponseCode": Column("last_response_code", "int"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
        "attempts": OwnedList("webhook_attempts", "delivery_id", ("number",)),
    },
)
