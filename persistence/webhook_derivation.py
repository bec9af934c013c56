"""Webhook deliveries derived from the events the relay publishes: one per event and endpoint.

An endpoint receives the event types it chose among ``WEBHOOK_EVENT_TYPES`` from its own
organization, while it is active and not deleted. Like notifications (persistence/derivation.py) the
relay derives inside the unit of work that marks the events published, so a crash leaves both to the
sweep, and the unique (endpoint, event) key makes a second derivation insert nothing. Per batch: one
read of the endpoints (none when no event in it is a webhook's), and when one matches, one insert and
one read back of the deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from persistence.enums import DeliveryStatus
from persistence.models import WebhookDelivery, WebhookEndpoint
from persistence.queries.rows import AnyRow

# What the mutations record (resolvers/*_mutations.py) that concerns an organization's integrations.
# Left out: a user's own reading of notifications, and password changes and resets.
WEBHOOK_EVENT_TYPES = (
    "task.created",
    "task.updated",
    "task.moved",
    "task.assigned",
    "task.deleted",
    "task.labelled",
    "task.commented",
    "task.attached",
    "label.created",
    "label.updated",
    "label.deleted",
    "project.created",
    "project.updated",
    "project.archived",
    "project.member_added",
    "project.member_removed",
    "project.member_role_changed",
    "user.invited",
    "user.joined",
    "user.updated",
    "user.role_changed",
    "user.deactivated",
)
# A delivery made by webhookTest, with no event behind it.
TEST_EVENT_TYPE = "webhook.test"
DELIVERY_FIELDS = ("id", "endpoint_id", "event_id")

_endpoints = WebhookEndpoint.__table__
_deliveries = WebhookDelivery.__table__


async def derive_webhook_deliveries(conn: AsyncConnection, events: Sequence[AnyRow]) -> Sequence[AnyRow]:
    """Inserts the deliveries ``events`` make (once per event and endpoint, however often this runs
    for them) and returns every delivery of those events and endpoints, in id order, to enqueue."""
    deliverable = [event for event in events if event.type in WEBHOOK_EVENT_TYPES]
    if not deliverable:
        return []
    organizations = sorted({event.organization_id for event in deliverable})
    statement = select(_endpoints.c.id, _endpoints.c.organization_id, _endpoints.c.event_types).where(
        _endpoints.c.organization_id.in_(organizations),
        _endpoints.c.active.is_(True),
        _endpoints.c.deleted_at.is_(None),
    )
    endpoints = (await conn.execute(statement)).all()
    values = _values(deliverable, endpoints)
    if not values:
        return []
    await conn.execute(_insert_once(conn.dialect.name), values)
    # By the unique (endpoint, event) key.
    pairs = sorted((v["endpoint_id"], v["event_id"]) for v in values)
    read_back = select(*[_deliveries.c[name] for name in DELIVERY_FIELDS]).where(
        tuple_(_deliveries.c.endpoint_id, _deliveries.c.event_id).in_(pairs)
    )
    return sorted((await conn.execute(read_back)).all(), key=lambda row: int(row.id))


def _values(events: Sequence[AnyRow], endpoints: Sequence[AnyRow]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    for event in events:
        for endpoint in endpoints:
            chosen = endpoint.event_types if isinstance(endpoint.event_types, list) else []
            if endpoint.organization_id != event.organization_id or event.type not in chosen:
                continue
            values.append(
                {
                    "endpoint_id": endpoint.id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "payload": None,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "last_response_code": None,
                    "redeliveries": 0,
                    "created_at": event.created_at,
                    "updated_at": event.created_at,
                }
            )
    return values


def _insert_once(dialect: str) -> Insert:
    """Skips a row whose (endpoint, event) is there already, and only that (unlike INSERT IGNORE)."""
    if dialect == "sqlite":
        return sqlite_insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
    statement = mysql_insert(WebhookDelivery)
    return statement.on_duplicate_key_update(event_id=statement.inserted.event_id)
