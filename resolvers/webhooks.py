"""Webhooks: an organization's owners and admins manage its endpoints, read their delivery log, ping
an endpoint and redeliver a delivery.

Anyone else is FORBIDDEN before anything is read or written; another organization's endpoint or
delivery is NOT_FOUND, as a missing one. A URL is checked (jobs/ssrf.py) when set: one that may not
receive webhooks is URL_NOT_ALLOWED and nothing is written. The secret is shown when made or rotated,
never read back. A test ping and a redelivery are enqueued after their commit (a job that ran before
it would not find its row); an enqueue that fails then is JOBS_UNAVAILABLE, and the delivery stays
pending in the log, to be redelivered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from jobs.ssrf import HostUnresolvable, UrlNotAllowed, resolve_target
from persistence.enums import DeliveryStatus
from persistence.models.base import utcnow
from persistence.queries import webhooks as queries
from persistence.queries.records import page_of, webhook_delivery_record, webhook_record
from persistence.queries.rows import AnyRow
from persistence.records import WebhookDeliveryRecord, WebhookRecord
from persistence.values import Page, PageRequest
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, DomainError, Forbidden, NotFound
from resolvers.principal import Principal
from resolvers.webhook_rules import TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES

log = logging.getLogger("taskql.webhooks")
MAX_DESCRIPTION = 500


class WebhookUrlNotAllowed(DomainError):
    code = "URL_NOT_ALLOWED"


class JobsUnavailable(DomainError):
    code = "JOBS_UNAVAILABLE"


@dataclass(frozen=True)
class EndpointChange:
    """What webhookUpdate sets; None leaves a field as it is."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    active: bool | None = None
    description: str | None = None
    rotate_secret: bool = False


@dataclass(frozen=True)
class EndpointResult:
    endpoint: AnyRow
    # Only when made or rotated.
    secret: str | None = None

    @property
    def webhook(self) -> WebhookRecord:
        return webhook_record(self.endpoint)


def _admin(ctx: RequestContext) -> Principal:
    principal = ctx.require_principal()
    if not principal.is_org_admin:
        raise Forbidden("only organization owners and admins manage webhooks")
    return principal


def new_secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


async def checked_url(ctx: RequestContext, url: str) -> str:
    """The URL, trimmed, if it may receive webhooks now (resolved off the event loop)."""
    url = url.strip()
    try:
        await asyncio.to_thread(resolve_target, url, ctx.settings.webhook_allowed_hosts)
    except UrlNotAllowed as refused:
        raise WebhookUrlNotAllowed(str(refused)) from refused
    except HostUnresolvable as unresolvable:
        raise WebhookUrlNotAllowed(str(unresolvable)) from unresolvable
    return url


def checked_event_types(event_types: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [name for name in chosen if name not in WEBHOOK_EVENT_TYPES]
    if unknown:
        raise BadUserInput(
            f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(WEBHOOK_EVENT_TYPES)}",
            argument="input.eventTypes",
        )
    if not chosen:
        raise BadUserInput("choose at least one event type", argument="input.eventTypes")
    return chosen


def checked_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise BadUserInput(f"at most {MAX_DESCRIPTION} characters", argument="input.description")
    return description


async def endpoints(ctx: RequestContext) -> list[WebhookRecord]:
    principal = _admin(ctx)
    async with ctx.db.read() as conn:
        rows = await queries.endpoints(conn, principal.organization_id)
    return [webhook_record(row) for row in rows]


async def endpoint(ctx: RequestContext, endpoint_id: int) -> WebhookRecord:
    principal = _admin(ctx)
    async with ctx.db.read() as conn:
        row = await queries.endpoint(conn, principal.organization_id, endpoint_id)
    if row is None:
        raise NotFound("webhook")
    return webhook_record(row)


async def create_endpoint(
    ctx: RequestContext, *, url: str, event_types: Sequence[str], description: str
) -> EndpointResult:
    principal = _admin(ctx)
    chosen, text = checked_event_types(event_types), checked_description(description)
    url = await checked_url(ctx, url)
    secret, now = new_secret(), utcnow()
    values = {
        "organization_id": principal.organization_id,
        "url": url,
        "secret": secret,
        "event_types": chosen,
        "active": True,
        "description": text,
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }
    async with ctx.db.unit_of_work() as conn:
        row = await queries.insert_endpoint(conn, values)
    return EndpointResult(row, secret)


async def update_endpoint(ctx: RequestContext, endpoint_id: int, change: EndpointChange) -> EndpointResult:
    principal = _admin(ctx)
    values: dict[str, object] = {"updated_at": utcnow()}
    if change.event_types is not None:
        values["event_types"] = checked_event_types(change.event_types)
    if change.description is not None:
        values["description"] = checked_description(change.description)
    if change.active is not None:
        values["active"] = change.active
    if change.url is not None:
        values["url"] = await checked_url(ctx, change.url)
    secret = new_secret() if change.rotate_secret else None
    if secret is not None:
        values["secret"] = secret
    async with ctx.db.unit_of_work() as conn:
        await queries.update_endpoint(conn, principal.organization_id, endpoint_id, values)
        row = await queries.endpoint(conn, principal.organization_id, endpoint_id)
        if row is None:
            raise NotFound("webhook")
    return EndpointResult(row, secret)


async def delete_endpoint(ctx: RequestContext, endpoint_id: int) -> None:
    """Marks it deleted: its log stays for the record, and its pending jobs skip it."""
    principal = _admin(ctx)
    now = utcnow()
    async with ctx.db.unit_of_work() as conn:
        if await queries.endpoint(conn, principal.organization_id, endpoint_id) is None:
            raise NotFound("webhook")
        values = {"deleted_at": now, "updated_at": now, "active": False}
        await queries.update_endpoint(conn, principal.organization_id, endpoint_id, values)


def _enqueue(ctx: RequestContext, delivery_id: int, redelivery: int) -> None:
    ctx.services.webhook_deliveries.enqueue_deliveries([delivery_id], redelivery)


async def _enqueue_after_commit(ctx: RequestContext, delivery_id: int, redelivery: int) -> None:
    try:
        await ctx.services.webhook_deliveries.off_loop(lambda: _enqueue(ctx, delivery_id, redelivery))
    except Exception as exc:
        log.exception("could not enqueue webhook delivery %d", delivery_id)
        raise JobsUnavailable(
            "the delivery is logged but could not be queued now; redeliver it later"
        ) from exc


async def test_endpoint(ctx: RequestContext, endpoint_id: int) -> WebhookDeliveryRecord:
    """A ``webhook.test`` delivery to the endpoint (active or not: pinging checks a setup)."""
    principal = _admin(ctx)
    now = utcnow()
    async with ctx.db.unit_of_work() as conn:
        if await queries.endpoint(conn, principal.organization_id, endpoint_id) is None:
            raise NotFound("webhook")
        data = {"webhook_id": endpoint_id, "requested_by": principal.user_id}
        delivery_id = await queries.insert_test_delivery(
            conn, endpoint_id, {"type": TEST_EVENT_TYPE, "data": data}, now
        )
        row = await queries.delivery_for_update(conn, principal.organization_id, delivery_id)
        if row is None:  # the endpoint was deleted meanwhile (its row lock is not held)
            raise NotFound("webhook")
    await _enqueue_after_commit(ctx, delivery_id, 0)
    return webhook_delivery_record(row)


async def redeliver(ctx: RequestContext, delivery_id: int) -> WebhookDeliveryRecord:
    """Sends the delivery again as a new job, under the same delivery id. One that is retrying has a
    job scheduled already: it is refused (BAD_USER_INPUT), not doubled."""
    principal = _admin(ctx)
    async with ctx.db.unit_of_work() as conn:
        row = await queries.delivery_for_update(conn, principal.organization_id, delivery_id)
        if row is None:
            raise NotFound("webhook delivery")
        if row.status == DeliveryStatus.RETRYING:
            raise BadUserInput("the delivery is being retried already", argument="deliveryId")
        redelivery = int(row.redeliveries) + 1
        await queries.mark_redelivered(conn, delivery_id, redelivery, utcnow())
        row = await queries.delivery_for_update(conn, principal.organization_id, delivery_id)
        if row is None:  # the endpoint was deleted meanwhile (its row lock is not held)
            raise NotFound("webhook delivery")
    await _enqueue_after_commit(ctx, delivery_id, redelivery)
    return webhook_delivery_record(row)


@dataclass(frozen=True)
class DeliveryLog:
    # Each delivery with its attempts.
    page: Page[WebhookDeliveryRecord]
    total: int | None


async def deliveries(
    ctx: RequestContext,
    endpoint_id: int,
    page: PageRequest,
    status: DeliveryStatus | None,
    *,
    with_total: bool,
) -> DeliveryLog:
    """An endpoint's deliveries, newest first, each with its attempts: two statements a page. The
    endpoint is one the schema read for the organization (``Webhook`` is built from those only)."""
    _admin(ctx)
    async with ctx.db.read() as conn:
        found, total = await queries.delivery_page(conn, endpoint_id, page, status, with_total=with_total)
        attempts = await queries.attempts_of(conn, [row.id for row in found.rows])
    log = page_of(found, lambda row: webhook_delivery_record(row, attempts.get(row.id, ())))
    return DeliveryLog(log, total)
