"""Live updates out: the generators behind `taskEvents` and `notificationAdded`.

Strawberry builds one context per WebSocket connection (at the handshake) and runs every event of
every subscription on that connection with it. So nothing that must be fresh lives there. Each
message passes the subscription's cursor first (resolvers/event_replay.py: a duplicate is dropped, a
gap or a reconnect brings the missed events from the events table). For each batch the generator
authenticates the connection's token again (a logout, a deactivated account or
an expired token ends the subscription with UNAUTHENTICATED), builds a new ``RequestContext`` (new
loaders, the principal just read), checks that the project is still visible and yields the event
with that context; the schema runs the event's selection with it.

A subscriber who lost access to the project (removed from it, demoted) gets NOT_FOUND on the first
event after the change, and the subscription ends: the same answer as subscribing to a project one
cannot see, and an end the client can tell from silence.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from persistence.enums import NotificationKind
from persistence.pubsub import Delivery, PubSubHub, Resync, project_channel, user_channel
from persistence.queries.records import task_record
from persistence.queries.scope import sees_project
from persistence.records import TaskRecord
from persistence.values import ProjectIncludes, TaskIncludes
from resolvers import projects
from resolvers.auth import authenticate_claims
from resolvers.context import RequestContext, Services
from resolvers.errors import BadUserInput, NotFound, Unauthenticated
from resolvers.event_reads import EventReads, event_reads
from resolvers.event_replay import NotificationCursor, ProjectCursor
from resolvers.principal import Principal
from resolvers.tokens import AccessClaims, read_access_token

_PLAIN_PROJECT = ProjectIncludes()


class TaskEventKind(StrEnum):
    CREATED = "task.created"
    UPDATED = "task.updated"
    MOVED = "task.moved"
    ASSIGNED = "task.assigned"
    DELETED = "task.deleted"
    COMMENTED = "task.commented"
    LABELLED = "task.labelled"
    ATTACHED = "task.attached"
    RESYNC = "resync"


@dataclass
class ConnectionContext:
    """What strawberry keeps for one WebSocket connection; filled at ``connection_init``."""

    services: Services
    hub: PubSubHub
    client_address: str | None = None
    # The token's claims, its signature checked once at connection_init; expiry and the session
    # behind it are checked again for every event.
    claims: AccessClaims | None = None
    principal: Principal | None = None
    # Strawberry stores the connection_init payload here.
    connection_params: dict[str, object] | None = None
    # Waits until the connection's outgoing queue has room (schema/ws/outbox.py): a replay of many
    # events waits between them instead of overrunning the slow-consumer bound.
    room: Callable[[], Awaitable[None]] | None = None

    async def wait_for_room(self) -> None:
        if self.room is not None:
            await self.room()


def token_from_params(params: Mapping[str, object]) -> str | None:
    """``{"authorization": "Bearer <token>"}`` (any case of the key) or ``{"token": "<token>"}``."""
    for key, value in params.items():
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    plain = params.get("token")
    if not isinstance(plain, str):
        return None
    return plain.strip() or None


async def connect(conn: ConnectionContext, params: Mapping[str, object]) -> Principal:
    """Authenticates the connection once, at ``connection_init``; raises Unauthenticated."""
    token = token_from_params(params)
    if token is None:
        raise Unauthenticated('connection_init needs {"authorization": "Bearer <access token>"}')
    claims = read_access_token(conn.services.settings, token)
    principal = await authenticate_claims(conn.services, claims)
    conn.claims, conn.principal = claims, principal
    return principal


async def event_context(conn: ConnectionContext, reads: EventReads | None = None) -> RequestContext:
    """A request's worth of context for one event: the token checked again (its session read with
    the event's other subscribers when ``reads`` is given), loaders not yet built."""
    if conn.claims is None:
        raise Unauthenticated()
    principal = await authenticate_claims(
        conn.services, conn.claims, None if reads is None else reads.session_entry
    )
    conn.principal = principal
    return RequestContext(conn.services, principal=principal, client_address=conn.client_address)


def _now() -> datetime:
    return datetime.now(UTC)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else _now()
    except ValueError:
        return _now()
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TaskChange:
    kind: TaskEventKind
    # The subscriber's context for this event alone: what its selection reads goes through it.
    context: RequestContext
    # What this event's subscribers in this process read once for all of them.
    reads: EventReads
    project_id: int
    occurred_at: datetime
    task_id: int | None = None
    event_id: int | None = None
    sequence: int | None = None


def _reads_of(delivery: Delivery, services: Services) -> EventReads:
    """Shared with the message's other subscribers here; a RESYNC is each listener's own."""
    return EventReads(services) if isinstance(delivery, Resync) else event_reads(delivery, services)


def _task_change(
    delivery: Delivery, ctx: RequestContext, reads: EventReads, project_id: int
) -> TaskChange | None:
    """The relay's message as an event; None for one this schema has no name for, or a stray one."""
    if isinstance(delivery, Resync):
        return TaskChange(TaskEventKind.RESYNC, ctx, reads, project_id, _now())
    try:
        kind = TaskEventKind(str(delivery.get("type")))
    except ValueError:
        return None  # a type a newer relay publishes; this server has no name for it yet
    principal = ctx.require_principal()
    if (
        delivery.get("project_id") != project_id
        or delivery.get("organization_id") != principal.organization_id
    ):
        return None
    return TaskChange(
        kind,
        ctx,
        reads,
        project_id,
        _timestamp(delivery.get("created_at")),
        task_id=_int_or_none(delivery.get("task_id")),
        event_id=_int_or_none(delivery.get("event_id")),
        sequence=_int_or_none(delivery.get("sequence")),
    )


async def task_events(
    conn: ConnectionContext, project_id: int, after_sequence: int | None = None
) -> AsyncGenerator[TaskChange, None]:
    """Checks the project at subscribe time (NOT_FOUND as for a query), then streams its events: those
    committed after ``after_sequence`` first when it is given, else those after the current head."""
    if after_sequence is not None and after_sequence < 0:
        raise BadUserInput("afterSequence cannot be negative", argument="afterSequence")
    ctx = await event_context(conn)
    await projects.project(ctx, project_id, _PLAIN_PROJECT)
    if after_sequence is None:
        # Read before listening: what commits in between is then in the catch-up read below.
        cursor = await ProjectCursor.at_head(conn.services, project_id)
    else:
        cursor = ProjectCursor(conn.services, project_id, after_sequence)
    return _task_changes(conn, cursor)


async def _task_changes(conn: ConnectionContext, cursor: ProjectCursor) -> AsyncGenerator[TaskChange, None]:
    project_id = cursor.project_id
    async with conn.hub.listen(
        project_channel(conn.services.settings.redis_channel_prefix, project_id)
    ) as listener:
        # Listening first: what commits during the read also arrives live, and the cursor drops it.
        for change in await _task_batch(conn, await cursor.catch_up("resume"), project_id):
            await conn.wait_for_room()
            yield change
        async for delivery in listener:
            changes = await _task_batch(conn, await cursor.admit(delivery), project_id)
            for change in changes:
                if len(changes) > 1:  # a gap or a reconnect replayed: paced like a resume
                    await conn.wait_for_room()
                yield change


async def _task_batch(conn: ConnectionContext, batch: list[Delivery], project_id: int) -> list[TaskChange]:
    """The subscriber's events of a batch (one live message, or what the log replayed before it), each
    checked against the subscriber's sight of the project: authenticated once per batch."""
    if not batch:
        return []
    ctx = await event_context(conn, _reads_of(batch[-1], conn.services))
    principal = ctx.require_principal()
    changes = []
    for delivery in batch:
        reads = _reads_of(delivery, conn.services)
        change = _task_change(delivery, ctx, reads, project_id)
        if change is None:
            continue
        snapshot = await change.reads.snapshot(principal.organization_id, project_id, change.task_id)
        # NOT_FOUND once the subscriber may no longer see the project: the stream ends.
        if snapshot.audience is None or not sees_project(principal.scope, snapshot.audience):
            raise NotFound("project")
        changes.append(change)
    return changes


async def event_task(change: TaskChange, includes: TaskIncludes) -> TaskRecord | None:
    """The event's task for its subscriber, read once for all the event's subscribers here (the
    subscriber's sight of the project was checked before the event was yielded). The row holds
    every join and aggregate, so it serves any selection: the record keeps what ``includes`` asks."""
    if change.task_id is None or change.kind is TaskEventKind.DELETED:
        return None
    principal = change.context.require_principal()
    snapshot = await change.reads.snapshot(principal.organization_id, change.project_id, change.task_id)
    return None if snapshot.task is None else task_record(snapshot.task, includes)


@dataclass(frozen=True)
class NotificationMessage:
    id: int
    kind: NotificationKind
    task_id: int | None
    event_id: int | None
    created_at: datetime
    actor_id: int | None = None
    comment_id: int | None = None


@dataclass(frozen=True)
class NotificationChange:
    context: RequestContext
    occurred_at: datetime
    # None for a RESYNC.
    notification: NotificationMessage | None


def _notification(delivery: Mapping[str, Any], user_id: int) -> NotificationMessage | None:
    notification_id = _int_or_none(delivery.get("notification_id"))
    if notification_id is None or delivery.get("user_id") != user_id:
        return None
    try:
        kind = NotificationKind(str(delivery.get("kind")))
    except ValueError:
        return None
    return NotificationMessage(
        id=notification_id,
        kind=kind,
        task_id=_int_or_none(delivery.get("task_id")),
        event_id=_int_or_none(delivery.get("event_id")),
        created_at=_timestamp(delivery.get("created_at")),
        actor_id=_int_or_none(delivery.get("actor_id")),
        comment_id=_int_or_none(delivery.get("comment_id")),
    )


async def notifications(
    conn: ConnectionContext, after_id: int | None = None
) -> AsyncGenerator[NotificationChange, None]:
    """The viewer's own notifications, as the relay publishes them to the viewer's channel: those
    after ``after_id`` first when it is given."""
    if after_id is not None and after_id < 0:
        raise BadUserInput("afterId cannot be negative", argument="afterId")
    ctx = await event_context(conn)
    user_id = ctx.require_principal().user_id
    # Without afterId: the head read before listening, so what commits in between is caught up below.
    head = None if after_id is not None else await NotificationCursor.at_head(conn.services, user_id)
    return _notification_changes(conn, user_id, head, after_id or 0)


async def _notification_changes(
    conn: ConnectionContext, user_id: int, cursor: NotificationCursor | None, after_id: int
) -> AsyncGenerator[NotificationChange, None]:
    services = conn.services
    async with conn.hub.listen(user_channel(services.settings.redis_channel_prefix, user_id)) as listener:
        # Listening first: what commits during the read also arrives live, and the cursor drops it.
        if cursor is None:
            cursor, batch = await NotificationCursor.resume(services, user_id, after_id)
        else:
            batch = await cursor.catch_up("resume")
        for change in await _notification_batch(conn, batch, user_id):
            await conn.wait_for_room()
            yield change
        async for delivery in listener:
            changes = await _notification_batch(conn, await cursor.admit(delivery), user_id)
            for change in changes:
                if len(changes) > 1:  # replayed after a reconnect: paced like a resume
                    await conn.wait_for_room()
                yield change


async def _notification_batch(
    conn: ConnectionContext, batch: list[Delivery], user_id: int
) -> list[NotificationChange]:
    """The batch's notifications for their recipient, authenticated once per batch."""
    if not batch:
        return []
    ctx = await event_context(conn, _reads_of(batch[-1], conn.services))
    if ctx.require_principal().user_id != user_id:
        # Cannot happen with one token per connection; never hand over another's.
        raise Unauthenticated("the connection's user changed")
    changes = []
    for delivery in batch:
        if isinstance(delivery, Resync):
            changes.append(NotificationChange(ctx, _now(), None))
            continue
        notification = _notification(delivery, user_id)
        if notification is not None:
            changes.append(NotificationChange(ctx, notification.created_at, notification))
    return changes
