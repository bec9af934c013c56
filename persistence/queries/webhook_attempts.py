"""The delivery job's statements: reading what to send, and recording each attempt with its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import AttemptOutcome, DeliveryStatus
from persistence.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from persistence.queries.rows import AnyRow

_deliveries = WebhookDelivery.__table__
_endpoints = WebhookEndpoint.__table__
_events = Event.__table__
MAX_ERROR_LENGTH = 500


async def delivery_to_send(conn: AsyncConnection, delivery_id: int) -> AnyRow | None:
    """The delivery with its endpoint (url, secret, state) and its event (none for a test ping)."""
    statement = (
        select(
            _deliveries.c.id,
            _deliveries.c.event_type,
            _deliveries.c.payload,
            _deliveries.c.status,
            _deliveries.c.created_at,
            _endpoints.c.organization_id,
            _endpoints.c.url,
            _endpoints.c.secret,
            _endpoints.c.active,
            _endpoints.c.deleted_at,
            _events.c.id.label("event__id"),
            _events.c.project_id.label("event__project_id"),
            _events.c.task_id.label("event__task_id"),
            _events.c.actor_id.label("event__actor_id"),
            _events.c.sequence.label("event__sequence"),
            _events.c.created_at.label("event__created_at"),
            _events.c.payload.label("event__payload"),
        )
        .select_from(
            _deliveries.join(_endpoints, _endpoints.c.id == _deliveries.c.endpoint_id).outerjoin(
                _events, _events.c.id == _deliveries.c.event_id
            )
        )
        .where(_deliveries.c.id == delivery_id)
    )
    return (await conn.execute(statement)).one_or_none()


@dataclass(frozen=True)
class AttemptRecord:
    started_at: datetime
    duration_ms: int
    outcome: AttemptOutcome
    response_code: int | None
    error: str | None


async def record_attempt(
    conn: AsyncConnection, delivery_id: int, attempt: AttemptRecord, status: DeliveryStatus
) -> int:
    """Counts the attempt on the delivery (the UPDATE's row lock numbers concurrent attempts apart),
    stores it and the delivery's new status; the attempt's number."""
    await conn.execute(
        update(WebhookDelivery)
        .where(_deliveries.c.id == delivery_id)
        .values(
            attempts=_deliveries.c.attempts + 1,
            status=status,
            last_response_code=attempt.response_code,
            updated_at=attempt.started_at,
        )
    )
    number = int(
        await conn.scalar(select(_deliveries.c.attempts).where(_deliveries.c.id == delivery_id)) or 0
    )
    error = attempt.error[:MAX_ERROR_LENGTH] if attempt.error is not None else None
    await conn.execute(
        insert(WebhookAttempt).values(
            delivery_id=delivery_id,
            number=number,
            started_at=attempt.started_at,
            duration_ms=attempt.duration_ms,
            response_code=attempt.response_code,
            outcome=attempt.outcome,
            error=error,
        )
    )
    return number
