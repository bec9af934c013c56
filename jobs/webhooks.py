"""The webhook delivery job: ``deliver_webhook(delivery_id)``, one attempt per run, each recorded.

The job takes the delivery's id and reads the rest when it runs (``with_database``: the worker's pooled
engine, or an engine of its own where each job gets a fresh event loop). It skips (and succeeds) when
the delivery is gone or already succeeded, or its endpoint is deleted or inactive. Otherwise it checks
the URL's addresses again (jobs/ssrf.py: DNS answers change), POSTs the signed body to the address it
checked, and records the attempt (outcome, response code, duration). A 2xx succeeds. A refused address,
or a 410 (the receiver says the endpoint is gone), makes the delivery dead at once: retrying cannot
help. Anything else raises, and RQ retries by WEBHOOK_RETRY (jobs/queues.py); the attempt that has no
retry left makes the delivery dead instead: the dead letter, listed in the delivery log, until
``webhookDeliveryRedeliver``.

The body is the same bytes on every attempt (sorted keys, times of the event, not of the attempt),
and carries the stable delivery id ``whd_<id>``, as does ``Taskql-Delivery``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from jobs.queues import is_last_attempt, job_settings, with_database
from jobs.ssrf import HostUnresolvable, UrlNotAllowed, resolve_target
from jobs.webhook_sender import Sent, post
from persistence.db import Database
from persistence.enums import AttemptOutcome, DeliveryStatus
from persistence.models.base import utcnow
from persistence.queries.rows import AnyRow
from persistence.queries.webhook_attempts import AttemptRecord, delivery_to_send, record_attempt
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.webhooks")

SUCCEEDED = "succeeded"
SKIPPED = "skipped"
DEAD = "dead"
GONE = 410


class DeliveryFailed(Exception):
    """Raised so that RQ schedules the next attempt."""


def delivery_key(delivery_id: int) -> str:
    """The stable delivery id the receiver sees (body ``id`` and ``Taskql-Delivery``)."""
    return f"whd_{delivery_id}"


def delivery_body(row: AnyRow) -> bytes:
    if row.event__id is None:
        data: dict[str, Any] = row.payload or {}
        created_at = row.created_at
    else:
        payload = dict(row.event__payload or {})
        # The hash of the request behind an Idempotency-Key is ours, not the receiver's.
        payload.pop("request", None)
        data = {
            "event_id": row.event__id,
            "project_id": row.event__project_id,
            "task_id": row.event__task_id,
            "actor_id": row.event__actor_id,
            "sequence": row.event__sequence,
            "payload": payload,
        }
        created_at = row.event__created_at
    body = {
        "id": delivery_key(row.id),
        "type": row.event_type,
        "created_at": created_at.isoformat(),
        "organization_id": row.organization_id,
        "data": data,
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


async def deliver_webhook(delivery_id: int) -> str:
    """One attempt at delivering; ``"succeeded"``, ``"skipped"`` or ``"dead"`` (the job's result)."""
    settings = job_settings()
    return await with_database(settings, lambda db: _deliver(db, settings, delivery_id))


async def _deliver(db: Database, settings: Settings, delivery_id: int) -> str:
    async with db.read() as conn:
        row = await delivery_to_send(conn, delivery_id)
    if row is None or row.status == DeliveryStatus.SUCCEEDED or row.deleted_at is not None or not row.active:
        log.info("webhook delivery %d: nothing to send (gone, done, or its endpoint inactive)", delivery_id)
        return SKIPPED
    sent = _send(row, settings.webhook_allowed_hosts, settings.webhook_timeout_seconds)
    final = sent.outcome is AttemptOutcome.REFUSED or sent.response_code == GONE or is_last_attempt()
    if sent.outcome is AttemptOutcome.SUCCESS:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.DEAD if final else DeliveryStatus.RETRYING
    record = AttemptRecord(sent.started_at, sent.duration_ms, sent.outcome, sent.response_code, sent.error)
    async with db.unit_of_work() as conn:
        number = await record_attempt(conn, delivery_id, record, status)
    if status is DeliveryStatus.RETRYING:
        raise DeliveryFailed(f"webhook delivery {delivery_id}, attempt {number}: {sent.error}")
    if status is DeliveryStatus.DEAD:
        log.warning("webhook delivery %d dead after attempt %d: %s", delivery_id, number, sent.error)
        return DEAD
    return SUCCEEDED


def _send(row: AnyRow, allowed_hosts: list[str], timeout: float) -> Sent:
    try:
        target = resolve_target(row.url, allowed_hosts)
    except UrlNotAllowed as refused:
        return Sent(utcnow(), 0, AttemptOutcome.REFUSED, error=str(refused))
    except HostUnresolvable as unresolvable:
        return Sent(utcnow(), 0, AttemptOutcome.CONNECTION_ERROR, error=str(unresolvable))
    return post(
        target,
        secret=row.secret,
        delivery=delivery_key(row.id),
        event_type=row.event_type,
        body=delivery_body(row),
        timeout=timeout,
    )
