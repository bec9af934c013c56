"""Webhook rows for tests: an endpoint as webhookCreate would store it (for URLs the suite's own
settings refuse, such as the receiver on 127.0.0.1), an event as a mutation leaves it unpublished,
and reads of the delivery log."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import insert, select

from persistence.enums import DeliveryStatus
from persistence.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from persistence.models.base import utcnow
from persistence.queries.events import NewEvent, insert_event
from persistence.seed import SeededOrganization
from resolvers.context import Services

_deliveries = WebhookDelivery.__table__
_attempts = WebhookAttempt.__table__


async def add_endpoint(
    services: Services, org: SeededOrganization, url: str, secret: str, event_types: Sequence[str]
) -> int:
    now = utcnow()
    values: dict[str, Any] = dict(
        organization_id=org.organization_id,
        url=url,
        secret=secret,
        event_types=list(event_types),
        active=True,
        description="",
        created_by=org.user_ids[0],
        created_at=now,
        updated_at=now,
    )
    async with services.db.unit_of_work() as conn:
        statement = insert(WebhookEndpoint).values(**values).returning(WebhookEndpoint.__table__.c.id)
        return int((await conn.execute(statement)).scalar_one())


async def unpublished_event(services: Services, org: SeededOrganization, type_: str = "task.updated") -> int:
    """An event about the organization's first task, committed and not yet published."""
    event = NewEvent(
        org.organization_id,
        org.project_ids[0],
        org.task_ids[0],
        org.user_ids[0],
        type_,
        {"changes": {"title": "renamed"}, "request": "an idempotency hash"},
    )
    async with services.db.unit_of_work() as conn:
        event_id, _ = await insert_event(conn, event, utcnow())
    return event_id


async def deliveries_of(services: Services, endpoint_id: int) -> list[Any]:
    async with services.db.read() as conn:
        statement = (
            select(_deliveries).where(_deliveries.c.endpoint_id == endpoint_id).order_by(_deliveries.c.id)
        )
        return list((await conn.execute(statement)).all())


async def attempts_of(services: Services, delivery_id: int) -> list[Any]:
    async with services.db.read() as conn:
        statement = (
            select(_attempts).where(_attempts.c.delivery_id == delivery_id).order_by(_attempts.c.number)
        )
        return list((await conn.execute(statement)).all())


async def until_status(
    services: Services, delivery_id: int, statuses: Collection[DeliveryStatus], within: float
) -> Any:
    """Polls the delivery until its status is one of ``statuses``; the row."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with services.db.read() as conn:
            row = (await conn.execute(select(_deliveries).where(_deliveries.c.id == delivery_id))).one()
        if DeliveryStatus(row.status) in statuses:
            return row
        assert asyncio.get_running_loop().time() < deadline, f"delivery {delivery_id} stayed {row.status}"
        await asyncio.sleep(0.05)
