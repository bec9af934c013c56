"""Outgoing webhooks: an organization's endpoints, one delivery per (event, endpoint), and every attempt.

A delivery is derived by the relay in the unit of work that publishes its event
(resolvers/webhook_rules.py); the unique (endpoint, event) key makes a second derivation insert
nothing. A test ping has no event: its payload is stored on the delivery instead.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import AttemptOutcome, DeliveryStatus
from persistence.models.base import Base, Id, UtcDateTime, utcnow


def _values(kind: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in kind]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index(None, "organization_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    url: Mapped[str] = mapped_column(String(2048))
    # The HMAC key of the signatures; shown to the organization only when made or rotated.
    secret: Mapped[str] = mapped_column(String(64))
    # The event types this endpoint receives (a JSON list of strings).
    event_types: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Deriving an event twice (at-least-once relay, a sweep after a crash) inserts once.
        UniqueConstraint("endpoint_id", "event_id"),
        # An endpoint's delivery log, newest first, with or without a status filter.
        Index(None, "endpoint_id", "status", "id"),
        # The relay's sweep for deliveries whose job was never confirmed enqueued.
        Index(None, "jobs_enqueued_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    # Null for a test ping (webhookTest); MariaDB's unique key allows many nulls.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)
    event_type: Mapped[str] = mapped_column(String(64))
    # A test ping's data; an event's delivery reads its event row instead.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=_values),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # How often it was redelivered by hand: each redelivery is a job of its own id.
    redeliveries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When its first job was enqueued; null until then (the relay's sweep enqueues it).
    jobs_enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    # 1 for the first attempt, counting on across redeliveries.
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[AttemptOutcome] = mapped_column(
        Enum(AttemptOutcome, native_enum=False, length=16, values_callable=_values)
    )
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
