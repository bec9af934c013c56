"""Webhook, its delivery log (WebhookDelivery with its WebhookAttempts) and the log's connection."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Annotated

import strawberry
from strawberry.types import Info

from persistence.enums import AttemptOutcome, DeliveryStatus
from persistence.records import WebhookAttemptRecord, WebhookDeliveryRecord, WebhookRecord
from resolvers import webhooks as resolvers
from resolvers.context import RequestContext
from schema.core.connections import After, Connection, First
from schema.core.cursors import CursorOrder
from schema.core.described import graphql_enum
from schema.core.ids import encode_id
from schema.core.node import Node
from schema.core.paging import ConnectionRequest

Ctx = Info[RequestContext, None]
graphql_enum(
    DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING: queued. SUCCEEDED: a 2xx answer. RETRYING: failed, another attempt is scheduled. "
    "DEAD: the last attempt failed (or the address was refused, or the receiver answered 410); only a "
    "redelivery sends it again.",
    values={
        "PENDING": "Queued, not sent yet.",
        "SUCCEEDED": "The receiver answered 2xx.",
        "RETRYING": "Failed; another attempt is scheduled.",
        "DEAD": "Failed for good; only a redelivery sends it again.",
    },
)
graphql_enum(
    AttemptOutcome,
    name="WebhookAttemptOutcome",
    description="How one POST of a delivery ended.",
    values={
        "SUCCESS": "A 2xx answer.",
        "HTTP_ERROR": "Another HTTP status.",
        "TIMEOUT": "No answer in time.",
        "CONNECTION_ERROR": "No connection (DNS, refused, reset, TLS).",
        "REFUSED": "The address may not receive webhooks (private, loopback...): not sent.",
    },
)
_NEWEST_FIRST = CursorOrder("webhook-delivery", "int", attrgetter("id"))


@strawberry.type(description="One POST of a delivery.")
class WebhookAttempt:
    number: int = strawberry.field(description="1 for the first, counting on across redeliveries.")
    started_at: datetime = strawberry.field(description="When the POST started.")
    duration_ms: int = strawberry.field(description="How long it took, in milliseconds.")
    response_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when none came."
    )
    outcome: AttemptOutcome = strawberry.field(description="How it ended.")
    error: str | None = strawberry.field(description="Why it failed, when it did.")

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
    event_type: str = strawberry.field(description="The event type sent, or `webhook.test`.")
    event_id: strawberry.ID | None = strawberry.field(
        description="The ActivityEvent's id; null for a test ping."
    )
    status: DeliveryStatus = strawberry.field(description="Where its sending stands.")
    attempt_count: int = strawberry.field(description="POSTs made so far.")
    last_response_code: int | None = strawberry.field(
        description="The last attempt's HTTP status; null if none came."
    )
    created_at: datetime = strawberry.field(description="When it was queued.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Every POST, oldest first.")

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


@strawberry.type(description="A page of a webhook's deliveries, newest first.")
class WebhookDeliveryConnection(Connection[WebhookDelivery]):
    pass


@strawberry.type(description="An endpoint of your organization that receives the event types it chose.")
class Webhook(Node):
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    event_types: list[str] = strawberry.field(description="The event types it receives.")
    active: bool = strawberry.field(description="False: nothing is sent to it.")
    description: str = strawberry.field(description="For people; may be empty.")
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
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
        status: Annotated[
            DeliveryStatus | None,
            strawberry.argument(description="Only deliveries in this status (DEAD: the dead letters)."),
        ] = None,
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
