"""Webhook, its delivery log (WebhookDelivery with its WebhookAttempts) and the log's connection."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

import strawberry
from strawberry.types import Info

from persistence.enums import AttemptOutcome, DeliveryStatus
from persistence.records import WebhookAttemptRecord, WebhookDeliveryRecord, WebhookRecord
from resolvers import webhooks as resolvers
from resolvers.context import RequestContext
from schema.core.connections import After, Connection, First
from schema.core.cursors import CursorOrder
from schema.core.ids import encode_id
from schema.core.node import Node
from schema.core.paging import ConnectionRequest

Ctx = Info[RequestContext, None]
strawberry.enum(
    DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING: queued. SUCCEEDED: a 2xx answer. RETRYING: failed, another attempt is scheduled. "
    "DEAD: the last attempt failed (or the address was refused, or the receiver answered 410); only a "
    "redelivery sends it again.",
)
strawberry.enum(AttemptOutcome, name="WebhookAttemptOutcome")
_NEWEST_FIRST = CursorOrder("webhook-delivery", "int", attrgetter("id"))


@strawberry.type(description="One POST of a delivery.")
class WebhookAttempt:
    number: int = strawberry.field(description="1 for the first, counting on across redeliveries.")
    started_at: datetime
    duration_ms: int
    response_code: int | None
    outcome: AttemptOutcome
    error: str | None

    @classmethod
    def from_record(cls, record: WebhookAttemptRecord) -> WebhookAttempt:
        return cls(
            number=record.number,
            started_at=record.started_at,
            duration_ms=record.duration_ms,
            response_code=record.response_code,
            outcome=record.outcome,
            error=record.error,
        )


@strawberry.type(description="One event (or test ping) for one webhook, with every attempt to send it.")
class WebhookDelivery(Node):
    delivery_id: str = strawberry.field(
        description="What the receiver sees as `Taskql-Delivery` and the body's `id`: the same on every "
        "attempt and redelivery, so a receiver can drop a duplicate."
    )
    event_type: str
    event_id: strawberry.ID | None = strawberry.field(
        description="The ActivityEvent's id; null for a test ping."
    )
    status: DeliveryStatus
    attempt_count: int
    last_response_code: int | None
    created_at: datetime
    updated_at: datetime
    attempts: list[WebhookAttempt]

    @classmethod
    def from_record(cls, record: WebhookDeliveryRecord) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(encode_id("WebhookDelivery", record.id)),
            delivery_id=f"whd_{record.id}",
            event_type=record.event_type,
            event_id=None
            if record.event_id is None
            else strawberry.ID(encode_id("ActivityEvent", record.event_id)),
            status=record.status,
            attempt_count=record.attempts,
            last_response_code=record.last_response_code,
            created_at=record.created_at,
            updated_at=record.updated_at,
            attempts=[WebhookAttempt.from_record(attempt) for attempt in record.attempt_log],
        )


@strawberry.type
class WebhookDeliveryConnection(Connection[WebhookDelivery]):
    pass


@strawberry.type(description="An endpoint of your organization that receives the event types it chose.")
class Webhook(Node):
    url: str
    event_types: list[str]
    active: bool
    description: str
    created_at: datetime
    updated_at: datetime
    _id: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: WebhookRecord) -> Webhook:
        return cls(
            id=strawberry.ID(encode_id("Webhook", record.id)),
            url=record.url,
            event_types=list(record.event_types),
            active=record.active,
            description=record.description,
            created_at=record.created_at,
            updated_at=record.updated_at,
            _id=record.id,
        )

    @strawberry.field(description="The delivery log, newest first; `status: DEAD` lists the dead letters.")
    async def deliveries(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        status: DeliveryStatus | None = None,
    ) -> WebhookDeliveryConnection:
        asked = ConnectionRequest(info, _NEWEST_FIRST, first=first, after=after)
        found = await resolvers.deliveries(
            info.context, self._id, asked.page, status, with_total=asked.selection.wants_total
        )
        return asked.connection(
            WebhookDeliveryConnection,
            found.page,
            found.total,
            WebhookDelivery.from_record,
        )


async def webhook_node(info: Ctx, webhook_id: int) -> Webhook:
    return Webhook.from_record(await resolvers.endpoint(info.context, webhook_id))
