"""Data cleanup: each function purges one bounded batch of one kind of row past its time.

Every function selects at most ``limit`` ids first, then writes by those ids: MariaDB refuses a LIMIT
inside an ``IN`` subquery, and a delete by primary key locks only the rows it removes. Each returns
how many rows of its kind it purged, so the caller can tell a full batch (there may be more) from the
last one. None of them commits: the job runs each batch in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import DeliveryStatus
from persistence.models import (
    Attachment,
    AuthSession,
    Comment,
    Event,
    Notification,
    PasswordReset,
    Project,
    Task,
    TaskLabel,
    WebhookAttempt,
    WebhookDelivery,
)
from persistence.queries.aggregates import greatest


@dataclass(frozen=True)
class Purged:
    """What one batch removed: a row count, and the storage keys of attachment files to remove once
    the batch has committed (never before: a rolled-back batch must still find its files)."""

    rows: int
    storage_keys: list[str] = field(default_factory=list)


async def _ids(conn: AsyncConnection, statement: Any) -> list[Any]:
    return list((await conn.execute(statement)).scalars())


async def purge_deleted_tasks(conn: AsyncConnection, deleted_before: datetime, limit: int) -> Purged:
    """Tasks soft-deleted before the cutoff, with what only they use. No foreign key cascades, so the
    rows that point at a task go first: notifications of its events, webhook attempts and deliveries
    of its events, its events (its activity log), comments, label links and attachment rows. A
    subtask that was not deleted itself stays, without a parent."""
    tasks = Task.__table__
    ids = await _ids(
        conn,
        select(tasks.c.id)
        .where(tasks.c.deleted_at.is_not(None), tasks.c.deleted_at < deleted_before)
        .order_by(tasks.c.id)
        .limit(limit),
    )
    if not ids:
        return Purged(0)
    attachments, events = Attachment.__table__, Event.__table__
    keys = await _ids(conn, select(attachments.c.storage_key).where(attachments.c.task_id.in_(ids)))
    task_events = select(events.c.id).where(events.c.task_id.in_(ids)).scalar_subquery()
    notifications = Notification.__table__
    await conn.execute(delete(Notification).where(notifications.c.event_id.in_(task_events)))
    deliveries = WebhookDelivery.__table__
    event_deliveries = select(deliveries.c.id).where(deliveries.c.event_id.in_(task_events)).scalar_subquery()
    await conn.execute(
        delete(WebhookAttempt).where(WebhookAttempt.__table__.c.delivery_id.in_(event_deliveries))
    )
    await conn.execute(delete(WebhookDelivery).where(deliveries.c.event_id.in_(task_events)))
    await _remember_purged_sequences(conn, ids)
    await conn.execute(delete(Event).where(events.c.task_id.in_(ids)))
    for model in (Comment, TaskLabel, Attachment):
        await conn.execute(delete(model).where(model.__table__.c.task_id.in_(ids)))
    await conn.execute(update(Task).where(tasks.c.parent_id.in_(ids)).values(parent_id=None))
    await conn.execute(delete(Task).where(tasks.c.id.in_(ids)))
    return Purged(len(ids), keys)


async def _remember_purged_sequences(conn: AsyncConnection, task_ids: list[Any]) -> None:
    """Raises each project's ``purged_event_sequence`` to the highest sequence of the tasks' events:
    when those were the project's newest, the next event must not take their numbers again (a
    subscriber holding one as its cursor would drop it as seen). One statement."""
    events, projects = Event.__table__, Project.__table__
    purged = (
        select(func.max(events.c.sequence))
        .where(events.c.project_id == projects.c.id, events.c.task_id.in_(task_ids))
        .scalar_subquery()
    )
    raised = greatest(conn.dialect.name, projects.c.purged_event_sequence, func.coalesce(purged, 0))
    touched = select(events.c.project_id).where(events.c.task_id.in_(task_ids))
    await conn.execute(update(Project).where(projects.c.id.in_(touched)).values(purged_event_sequence=raised))


async def purge_expired_sessions(conn: AsyncConnection, now: datetime, limit: int) -> Purged:
    """Sessions past their expiry (revoked or not): their refresh token is refused anyway."""
    sessions = AuthSession.__table__
    ids = await _ids(
        conn,
        select(sessions.c.id).where(sessions.c.expires_at < now).order_by(sessions.c.expires_at).limit(limit),
    )
    return Purged(await _delete_by_ids(conn, AuthSession, ids))


async def purge_password_resets(conn: AsyncConnection, now: datetime, limit: int) -> Purged:
    """Password resets that can no longer be confirmed: used, or expired."""
    resets = PasswordReset.__table__
    condition = or_(resets.c.used_at.is_not(None), resets.c.expires_at < now)
    ids = await _ids(conn, select(resets.c.id).where(condition).order_by(resets.c.id).limit(limit))
    return Purged(await _delete_by_ids(conn, PasswordReset, ids))


async def clear_idempotency_keys(conn: AsyncConnection, created_before: datetime, limit: int) -> Purged:
    """Clears the Idempotency-Key of events older than the key's window: the unique index then no
    longer refuses the key, so a client may reuse it, as it may once the cached answer has expired.
    The event itself is the activity log and stays."""
    events = Event.__table__
    ids = await _ids(
        conn,
        select(events.c.id)
        .where(events.c.idempotency_key.is_not(None), events.c.created_at < created_before)
        .order_by(events.c.id)
        .limit(limit),
    )
    if not ids:
        return Purged(0)
    await conn.execute(update(Event).where(events.c.id.in_(ids)).values(idempotency_key=None))
    return Purged(len(ids))


async def purge_webhook_logs(conn: AsyncConnection, finished_before: datetime, limit: int) -> Purged:
    """Webhook deliveries that ended (succeeded, or dead) and have not changed since the cutoff, with
    their attempts: the delivery log keeps its recent past. A pending or retrying one always stays."""
    deliveries = WebhookDelivery.__table__
    ended = deliveries.c.status.in_([DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD])
    ids = await _ids(
        conn,
        select(deliveries.c.id)
        .where(ended, deliveries.c.updated_at < finished_before)
        .order_by(deliveries.c.id)
        .limit(limit),
    )
    if not ids:
        return Purged(0)
    await conn.execute(delete(WebhookAttempt).where(WebhookAttempt.__table__.c.delivery_id.in_(ids)))
    return Purged(await _delete_by_ids(conn, WebhookDelivery, ids))


async def _delete_by_ids(conn: AsyncConnection, model: Any, ids: Sequence[Any]) -> int:
    if not ids:
        return 0
    await conn.execute(delete(model).where(model.__table__.c.id.in_(ids)))
    return len(ids)
