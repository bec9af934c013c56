"""webhookCreate, webhookUpdate, webhookDelete, webhookTest, webhookDeliveryRedeliver.

Owners and admins only (FORBIDDEN otherwise); a URL that may not receive webhooks is URL_NOT_ALLOWED,
an unknown event type BAD_USER_INPUT; another organization's webhook or delivery is NOT_FOUND.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import webhooks as resolvers
from resolvers.context import RequestContext
from resolvers.webhooks import EndpointChange, EndpointResult
from schema.core.ids import decode_id
from schema.core.payload_errors import MutationInput
from schema.webhooks.types import Webhook, WebhookDelivery

Ctx = Info[RequestContext, None]


@strawberry.input(description="What `webhookCreate` and `webhookCreateV2` take.")
class WebhookCreateInput:
    url: str = strawberry.field(description="http or https; it must not resolve to a private address.")
    event_types: list[str] = strawberry.field(description="The event types to receive (e.g. task.created).")
    description: str = strawberry.field(default="", description="For people; may be empty.")


@strawberry.input(description="What `webhookUpdate` takes.")
class WebhookUpdateInput:
    url: str | None = strawberry.field(
        default=None, description="A new URL (checked like at creation); null keeps it."
    )
    event_types: list[str] | None = strawberry.field(
        default=None, description="New event types (at least one); null keeps them."
    )
    active: bool | None = strawberry.field(
        default=None, description="False stops sending to it; null keeps it."
    )
    description: str | None = strawberry.field(default=None, description="A new description; null keeps it.")
    rotate_secret: bool = strawberry.field(default=False, description="Makes a new secret, shown once.")


@strawberry.type(description="What `webhookCreate` and `webhookUpdate` answer.")
class WebhookPayload:
    webhook: Webhook = strawberry.field(description="The webhook as it is now.")
    secret: str | None = strawberry.field(
        description="The HMAC-SHA256 key of the signatures: only when made or rotated, never again."
    )

    @classmethod
    def of(cls, result: EndpointResult) -> WebhookPayload:
        return cls(webhook=Webhook.from_record(result.webhook), secret=result.secret)


@strawberry.type(description="What `webhookDelete` answers.")
class WebhookDeletePayload:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted webhook's id.")


@strawberry.type(description="What `webhookTest` and `webhookDeliveryRedeliver` answer.")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery = strawberry.field(description="The delivery queued.")


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="A webhook endpoint for your organization; the payload shows its secret once.",
        deprecation_reason="Use `webhookCreateV2`: the same, with expected failures in the payload's "
        "`errors`.",
    )
    async def webhook_create(
        self,
        info: Ctx,
        input: MutationInput[WebhookCreateInput],  # noqa: A002
    ) -> WebhookPayload:
        result = await resolvers.create_endpoint(
            info.context, url=input.url, event_types=input.event_types, description=input.description
        )
        return WebhookPayload.of(result)

    @strawberry.mutation(
        description="Changes a webhook; `rotateSecret` returns the new secret once.",
        deprecation_reason="Use `webhookUpdateV2`: the id inside `input`, expected failures in `errors`.",
    )
    async def webhook_update(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="The webhook's id.")],  # noqa: A002
        input: MutationInput[WebhookUpdateInput],  # noqa: A002
    ) -> WebhookPayload:
        change = EndpointChange(
            url=input.url,
            event_types=input.event_types,
            active=input.active,
            description=input.description,
            rotate_secret=input.rotate_secret,
        )
        return WebhookPayload.of(
            await resolvers.update_endpoint(info.context, decode_id(id, "Webhook"), change)
        )

    @strawberry.mutation(
        description="Deletes a webhook: nothing more is sent to it.",
        deprecation_reason="Use `webhookDeleteV2`: the id inside `input`, expected failures in `errors`.",
    )
    async def webhook_delete(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="The webhook's id.")],  # noqa: A002
    ) -> WebhookDeletePayload:
        await resolvers.delete_endpoint(info.context, decode_id(id, "Webhook"))
        return WebhookDeletePayload(deleted_id=id)

    @strawberry.mutation(
        description="Sends a `webhook.test` delivery to the webhook.",
        deprecation_reason="Use `webhookTestV2`: the id inside `input`, expected failures in `errors`.",
    )
    async def webhook_test(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="The webhook's id.")],  # noqa: A002
    ) -> WebhookDeliveryPayload:
        sent = await resolvers.test_endpoint(info.context, decode_id(id, "Webhook"))
        return WebhookDeliveryPayload(delivery=WebhookDelivery.from_record(sent))

    @strawberry.mutation(
        description="Sends a delivery again (a dead letter, say) under the same delivery id, with a fresh "
        "set of retries.",
        deprecation_reason="Use `webhookDeliveryRedeliverV2`: the id inside `input`, expected failures in "
        "`errors`.",
    )
    async def webhook_delivery_redeliver(
        self,
        info: Ctx,
        delivery_id: Annotated[strawberry.ID, strawberry.argument(description="The WebhookDelivery's id.")],
    ) -> WebhookDeliveryPayload:
        sent = await resolvers.redeliver(
            info.context, decode_id(delivery_id, "WebhookDelivery", argument="deliveryId")
        )
        return WebhookDeliveryPayload(delivery=WebhookDelivery.from_record(sent))
