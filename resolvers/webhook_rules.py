"""Which webhook endpoint gets which event; the relay derives one delivery per event and endpoint
from the events it publishes.

An endpoint receives the event types it chose among ``WEBHOOK_EVENT_TYPES`` from its own
organization, while it is active and not deleted. Like notifications (resolvers/notification_rules.py)
the relay derives inside the unit of work that marks the events published, so a crash leaves both to
the sweep, and the unique (endpoint, event) key makes a second derivation insert nothing
(persistence/queries/delivery_writes.py). Per batch: the endpoints come with the relay's one read of
the batch (persistence/batch_reads.py; asked for only when an event in it is a webhook's), and when
one matches, one insert that returns the deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.batch_reads import BatchNeeds, BatchReads, Endpoint
from persistence.enums import DeliveryStatus
from persistence.queries import delivery_writes as queries
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


class WebhookDerivation:
    """The relay's ``Derivation`` of webhook deliveries."""

    def needs(self, events: Sequence[AnyRow]) -> BatchNeeds:
        """The endpoints of the organizations of the events a webhook may want."""
        organizations = {event.organization_id for event in events if event.type in WEBHOOK_EVENT_TYPES}
        return BatchNeeds(endpoint_organizations=frozenset(organizations))

    async def derive(
        self, conn: AsyncConnection, events: Sequence[AnyRow], reads: BatchReads
    ) -> Sequence[AnyRow]:
        """Inserts the deliveries ``events`` make (once per event and endpoint, however often this
        runs for them) and returns each of them, new or not, in id order, to enqueue."""
        deliverable = [event for event in events if event.type in WEBHOOK_EVENT_TYPES]
        values = _values(deliverable, reads.endpoints)
        if not values:
            return []
        return await queries.insert_deliveries(conn, values)


def _values(events: Sequence[AnyRow], endpoints: Sequence[Endpoint]) -> list[dict[str, Any]]:
    """A pending delivery for each event and each endpoint of its organization that chose its type."""
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
