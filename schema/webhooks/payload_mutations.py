"""webhookCreateV2, webhookUpdateV2, webhookDeleteV2, webhookTestV2, webhookDeliveryRedeliverV2: the
webhook mutations in the schema's convention (one `input`, a payload with `errors`).

They do what the mutations they replace do; what differs is how an expected failure is told: a URL
that may not receive webhooks, an unknown event type or a bad description are INVALID on the input
field, another organization's (or an unknown) webhook or delivery NOT_FOUND on its id, all in the
payload. FORBIDDEN (not an owner or admin) and JOBS_UNAVAILABLE stay top-level errors.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import webhooks as resolvers
from resolvers.context import RequestContext
from resolvers.errors import DomainError
from resolvers.mutations import outcome_of
from resolvers.webhooks import EndpointChange, WebhookUrlNotAllowed
from schema.core.ids import decode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.webhooks.mutations import WebhookCreateInput
from schema.webhooks.types import Webhook, WebhookDelivery

Ctx = Info[RequestContext, None]
_URL_REFUSED: dict[type[DomainError], str] = {WebhookUrlNotAllowed: "url"}


@strawberry.input(description="Which webhook to change and how; a field left out keeps its value.")
class WebhookUpdateV2Input:
    id: strawberry.ID = strawberry.field(description="The webhook's id.")
    url: str | None = strawberry.field(
        default=None, description="http or https; it must not resolve to a private address."
    )
    event_types: list[str] | None = strawberry.field(
        default=None, description="The event types to receive (at least one)."
    )
    active: bool | None = strawberry.field(default=None, description="False: nothing is sent to it.")
    description: str | None = strawberry.field(default=None, description="For people; may be empty.")
    rotate_secret: bool = strawberry.field(default=False, description="Makes a new secret, shown once.")


@strawberry.input(description="The webhook a mutation acts on.")
class WebhookIdInput:
    id: strawberry.ID = strawberry.field(description="The webhook's id.")


@strawberry.input(description="The delivery to send again.")
class WebhookDeliveryRedeliverInput:
    delivery_id: strawberry.ID = strawberry.field(description="The WebhookDelivery's id.")


@strawberry.type(description="An expected failure of webhookCreateV2.")
class WebhookCreateV2Error(MutationError):
    pass


@strawberry.type(description="An expected failure of webhookUpdateV2.")
class WebhookUpdateV2Error(MutationError):
    pass


@strawberry.type(description="An expected failure of webhookDeleteV2.")
class WebhookDeleteV2Error(MutationError):
    pass


@strawberry.type(description="An expected failure of webhookTestV2.")
class WebhookTestV2Error(MutationError):
    pass


@strawberry.type(description="An expected failure of webhookDeliveryRedeliverV2.")
class WebhookDeliveryRedeliverV2Error(MutationError):
    pass


_SECRET_SHOWN_ONCE = "The HMAC-SHA256 key of the signatures: only when made or rotated, never again."  # noqa: S105 - a description


@strawberry.type(description="What webhookCreateV2 answers.")
class WebhookCreateV2Payload:
    errors: list[WebhookCreateV2Error] = strawberry.field(description="Empty when the webhook was made.")
    webhook: Webhook | None = strawberry.field(description="The new webhook; null on errors.")
    secret: str | None = strawberry.field(description=_SECRET_SHOWN_ONCE)


@strawberry.type(description="What webhookUpdateV2 answers.")
class WebhookUpdateV2Payload:
    errors: list[WebhookUpdateV2Error] = strawberry.field(description="Empty when the change was made.")
    webhook: Webhook | None = strawberry.field(description="The webhook as changed; null on errors.")
    secret: str | None = strawberry.field(description=_SECRET_SHOWN_ONCE)


@strawberry.type(description="What webhookDeleteV2 answers.")
class WebhookDeleteV2Payload:
    errors: list[WebhookDeleteV2Error] = strawberry.field(description="Empty when the webhook was deleted.")
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The deleted webhook's id; null on errors."
    )


@strawberry.type(description="What webhookTestV2 answers.")
class WebhookTestV2Payload:
    errors: list[WebhookTestV2Error] = strawberry.field(description="Empty when the ping was queued.")
    delivery: WebhookDelivery | None = strawberry.field(description="The test delivery; null on errors.")


@strawberry.type(description="What webhookDeliveryRedeliverV2 answers.")
class WebhookDeliveryRedeliverV2Payload:
    errors: list[WebhookDeliveryRedeliverV2Error] = strawberry.field(
        description="Empty when the delivery was queued again."
    )
    delivery: WebhookDelivery | None = strawberry.field(description="The delivery; null on errors.")


@strawberry.type
class WebhookPayloadMutation:
    @strawberry.mutation(
        description="A webhook endpoint for your organization; the payload shows its secret once."
    )
    async def webhook_create_v2(
        self,
        info: Ctx,
        input: MutationInput[WebhookCreateInput],  # noqa: A002
    ) -> WebhookCreateV2Payload:
        outcome = await outcome_of(
            resolvers.create_endpoint(
                info.context, url=input.url, event_types=input.event_types, description=input.description
            ),
            missing_field=None,
            refusals=_URL_REFUSED,
        )
        made = outcome.value
        return WebhookCreateV2Payload(
            errors=errors_as(WebhookCreateV2Error, outcome),
            webhook=None if made is None else Webhook.from_record(made.webhook),
            secret=None if made is None else made.secret,
        )

    @strawberry.mutation(description="Changes a webhook; `rotateSecret` returns the new secret once.")
    async def webhook_update_v2(
        self,
        info: Ctx,
        input: MutationInput[WebhookUpdateV2Input],  # noqa: A002
    ) -> WebhookUpdateV2Payload:
        endpoint_id = decode_id(input.id, "Webhook", argument="input.id")
        change = EndpointChange(
            url=input.url,
            event_types=input.event_types,
            active=input.active,
            description=input.description,
            rotate_secret=input.rotate_secret,
        )
        outcome = await outcome_of(
            resolvers.update_endpoint(info.context, endpoint_id, change),
            missing_field="id",
            refusals=_URL_REFUSED,
        )
        changed = outcome.value
        return WebhookUpdateV2Payload(
            errors=errors_as(WebhookUpdateV2Error, outcome),
            webhook=None if changed is None else Webhook.from_record(changed.webhook),
            secret=None if changed is None else changed.secret,
        )

    @strawberry.mutation(description="Deletes a webhook: nothing more is sent to it.")
    async def webhook_delete_v2(
        self,
        info: Ctx,
        input: MutationInput[WebhookIdInput],  # noqa: A002
    ) -> WebhookDeleteV2Payload:
        endpoint_id = decode_id(input.id, "Webhook", argument="input.id")
        outcome = await outcome_of(resolvers.delete_endpoint(info.context, endpoint_id), missing_field="id")
        return WebhookDeleteV2Payload(
            errors=errors_as(WebhookDeleteV2Error, outcome),
            deleted_id=None if outcome.errors else input.id,
        )

    @strawberry.mutation(description="Sends a `webhook.test` delivery to the webhook.")
    async def webhook_test_v2(
        self,
        info: Ctx,
        input: MutationInput[WebhookIdInput],  # noqa: A002
    ) -> WebhookTestV2Payload:
        endpoint_id = decode_id(input.id, "Webhook", argument="input.id")
        outcome = await outcome_of(resolvers.test_endpoint(info.context, endpoint_id), missing_field="id")
        sent = outcome.value
        return WebhookTestV2Payload(
            errors=errors_as(WebhookTestV2Error, outcome),
            delivery=None if sent is None else WebhookDelivery.from_record(sent),
        )

    @strawberry.mutation(
        description="Sends a delivery again (a dead letter, say) under the same delivery id, with a fresh "
        "set of retries. One already being retried is INVALID on deliveryId."
    )
    async def webhook_delivery_redeliver_v2(
        self,
        info: Ctx,
        input: MutationInput[WebhookDeliveryRedeliverInput],  # noqa: A002
    ) -> WebhookDeliveryRedeliverV2Payload:
        delivery_id = decode_id(input.delivery_id, "WebhookDelivery", argument="input.deliveryId")
        outcome = await outcome_of(resolvers.redeliver(info.context, delivery_id), missing_field="deliveryId")
        sent = outcome.value
        return WebhookDeliveryRedeliverV2Payload(
            errors=errors_as(WebhookDeliveryRedeliverV2Error, outcome),
            delivery=None if sent is None else WebhookDelivery.from_record(sent),
        )
