"""An organization's webhook endpoints and their delivery log. Every statement is bounded to the
organization: another one's endpoint or delivery reads as missing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import DeliveryStatus
from persistence.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from persistence.queries.pagination import SortKey, fetch_page
from persistence.queries.rows import AnyRow
from persistence.values import Page, PageRequest

_endpoints = WebhookEndpoint.__table__
_deliveries = WebhookDelivery.__table__
_attempts = WebhookAttempt.__table__
NEWEST_FIRST = SortKey(_deliveries.c.id, _deliveries.c.id, descending=True)
ENDPOINT_FIELDS = ("id", "url", "event_types", "active", "description", "created_at", "updated_at")
DELIVERY_FIELDS = (
    "id",
    "endpoint_id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "last_response_code",
    "redeliveries",
    "created_at",
    "updated_at",
)


def _live(organization_id: int) -> Any:
    return (_endpoints.c.organization_id == organization_id) & _endpoints.c.deleted_at.is_(None)


async def insert_endpoint(conn: AsyncConnection, values: dict[str, Any]) -> AnyRow:
    statement = (
        insert(WebhookEndpoint).values(**values).returning(*[_endpoints.c[n] for n in ENDPOINT_FIELDS])
    )
    return (await conn.execute(statement)).one()


async def endpoint(conn: AsyncConnection, organization_id: int, endpoint_id: int) -> AnyRow | None:
    found = await endpoints_by_ids(conn, organization_id, [endpoint_id])
    return found[0] if found else None


async def endpoints_by_ids(
    conn: AsyncConnection, organization_id: int, endpoint_ids: Sequence[int]
) -> Sequence[AnyRow]:
    """The organization's live endpoints among these ids, in one statement."""
    statement = select(*[_endpoints.c[name] for name in ENDPOINT_FIELDS]).where(
        _endpoints.c.id.in_(endpoint_ids), _live(organization_id)
    )
    return (await conn.execute(statement)).all()


async def deliveries_by_ids(
    conn: AsyncConnection, organization_id: int, delivery_ids: Sequence[int]
) -> dict[int, list[AnyRow]]:
    """The deliveries among these ids whose endpoint is one of the organization's live ones: one
    statement, the attempts outer-joined (``attempt__`` columns), a delivery's rows in attempt order."""
    attempt_columns = [column.label(f"attempt__{column.name}") for column in _attempts.c]
    statement = (
        select(*[_deliveries.c[name] for name in DELIVERY_FIELDS], *attempt_columns)
        .select_from(
            _deliveries.join(_endpoints, _endpoints.c.id == _deliveries.c.endpoint_id).outerjoin(
                _attempts, _attempts.c.delivery_id == _deliveries.c.id
            )
        )
        .where(_deliveries.c.id.in_(delivery_ids), _live(organization_id))
        .order_by(_deliveries.c.id, _attempts.c.number)
    )
    found: dict[int, list[AnyRow]] = {}
    for row in (await conn.execute(statement)).all():
        found.setdefault(row.id, []).append(row)
    return found


async def endpoints(conn: AsyncConnection, organization_id: int) -> Sequence[AnyRow]:
    """The organization's live endpoints, oldest first (a handful each: no pagination)."""
    statement = (
        select(*[_endpoints.c[name] for name in ENDPOINT_FIELDS])
        .where(_live(organization_id))
        .order_by(_endpoints.c.id)
    )
    return (await conn.execute(statement)).all()


async def update_endpoint(
    conn: AsyncConnection, organization_id: int, endpoint_id: int, values: dict[str, Any]
) -> None:
    """Updates it if it is one of the organization's live endpoints (else nothing)."""
    statement = update(WebhookEndpoint).where(_endpoints.c.id == endpoint_id, _live(organization_id))
    await conn.execute(statement.values(**values))


async def insert_test_delivery(
    conn: AsyncConnection, endpoint_id: int, payload: dict[str, Any], now: datetime
) -> int:
    values = {
        "endpoint_id": endpoint_id,
        "event_id": None,
        "event_type": payload["type"],
        "payload": payload["data"],
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "redeliveries": 0,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert(WebhookDelivery).values(**values).returning(_deliveries.c.id)
    return int((await conn.execute(statement)).scalar_one())


async def delivery_page(
    conn: AsyncConnection,
    endpoint_id: int,
    page: PageRequest,
    status: DeliveryStatus | None,
    *,
    with_total: bool,
) -> tuple[Page[AnyRow], int | None]:
    """One endpoint's deliveries, newest first (the caller checked the endpoint is the organization's);
    one statement, the total riding along when asked for."""
    conditions = [_deliveries.c.endpoint_id == endpoint_id]
    if status is not None:
        conditions.append(_deliveries.c.status == status)
    statement = select(*[_deliveries.c[name] for name in DELIVERY_FIELDS]).where(*conditions)
    count = select(func.count()).select_from(_deliveries).where(*conditions) if with_total else None
    return await fetch_page(conn, statement, NEWEST_FIRST, page, count)


async def attempts_of(conn: AsyncConnection, delivery_ids: Sequence[int]) -> dict[int, list[AnyRow]]:
    """The deliveries' attempts, in order, by delivery (one statement for a page)."""
    if not delivery_ids:
        return {}
    statement = (
        select(_attempts)
        .where(_attempts.c.delivery_id.in_(sorted(set(delivery_ids))))
        .order_by(_attempts.c.delivery_id, _attempts.c.number)
    )
    found: dict[int, list[AnyRow]] = {delivery_id: [] for delivery_id in delivery_ids}
    for row in (await conn.execute(statement)).all():
        found[row.delivery_id].append(row)
    return found


async def delivery_for_update(conn: AsyncConnection, organization_id: int, delivery_id: int) -> AnyRow | None:
    """The delivery, locked, if its endpoint is one of the organization's live endpoints."""
    statement = (
        select(*[_deliveries.c[name] for name in DELIVERY_FIELDS])
        .select_from(_deliveries.join(_endpoints, _endpoints.c.id == _deliveries.c.endpoint_id))
        .where(_deliveries.c.id == delivery_id, _live(organization_id))
        .with_for_update(of=_deliveries)
    )
    return (await conn.execute(statement)).one_or_none()


async def mark_redelivered(conn: AsyncConnection, delivery_id: int, redelivery: int, now: datetime) -> None:
    statement = update(WebhookDelivery).where(_deliveries.c.id == delivery_id)
    await conn.execute(
        statement.values(status=DeliveryStatus.PENDING, redeliveries=redelivery, updated_at=now)
    )
