"""The outbox relay: committed event rows become Redis pub/sub messages.

Right after a commit the writer hands the new event ids over (``notify``); a periodic sweep
publishes whatever a crash or a Redis outage left unpublished. A row is marked published only
after its message went out, so delivery is at-least-once: a subscriber may see an event twice
(the per-project sequence tells) but never misses one that committed.

In the same unit of work, before the rows are marked, the events' notifications are derived: a
crash leaves events and notifications to the sweep together, and the unique (event, recipient) key
keeps a second derivation from inserting anything; the events' webhook deliveries are derived there
too, the same way. Who is notified and which endpoint gets what are domain rules, which persistence
does not import: the composition root passes them in as ``Derivation`` objects. After the
commit each new notification goes to its recipient's channel (so a recipient acting on it at once
finds the row), and the batch (events and notifications) to each ``on_committed`` hook (the
composition root wires the jobs there; persistence does not import jobs). When every hook took a
batch, its notifications and webhook deliveries are marked ``jobs_enqueued_at``; what stays unmarked
(a hook failed: Redis was down just after the commit, or the process died in between) the sweep hands
over again once it is older than the grace period. Job ids are deterministic and enqueued with
``unique=True``, so a job that did get enqueued is refused the second time, never run twice.

Events committed close together go out together (``_drain`` merges what is queued), and a batch
costs the same few statements and Redis round trips whatever its size (docs/performance.md): the
claim; one PUBSUB NUMSUB; one read of all the derivations need and the listened projects' audiences
(persistence/batch_reads.py); one read of who the comments mention, when they mention someone; one
read of the listened events' tasks; one INSERT ... RETURNING per kind derived; the events' messages
in one pipeline; the published mark; after the commit, the notifications' messages in one pipeline
and one UPDATE per kind marked enqueued. Every statement is built once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, cast

import orjson
from opentelemetry.trace import Link
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Select, Table, Update, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.batch_reads import BatchNeeds, BatchReads, read_batch
from persistence.db import Database
from persistence.enums import NotificationKind
from persistence.models import Event, Notification, WebhookDelivery
from persistence.models.base import utcnow
from persistence.pubsub import project_channel, user_channel
from persistence.queries.rows import AnyRow
from persistence.redis_breaker import BreakerView
from persistence.snapshots import event_snapshots
from persistence.tracing import current_link, loop_span, tracer

log = logging.getLogger("taskql.relay")

# Tables (the models declare a FromClause), which the statements below update.
_events = cast(Table, Event.__table__)
_notifications = cast(Table, Notification.__table__)
_deliveries = cast(Table, WebhookDelivery.__table__)
STOP_TIMEOUT_SECONDS = 5.0


# The most events a publish claims, and stragglers of each kind a sweep hands over.
BATCH_LIMIT = 500
# The batch's claim: its unpublished events, of those notified or (the sweep) older than the grace
# period, oldest first; several processes sweep, and each takes the rows no other one holds.
_UNPUBLISHED = (
    select(_events).where(_events.c.published_at.is_(None)).order_by(_events.c.id).limit(BATCH_LIMIT)
)
_CLAIM_NOTIFIED = _UNPUBLISHED.where(_events.c.id.in_(bindparam("ids", expanding=True))).with_for_update(
    skip_locked=True
)
_CLAIM_LEFT_BEHIND = _UNPUBLISHED.where(_events.c.created_at < bindparam("cutoff")).with_for_update(
    skip_locked=True
)
_MARK_PUBLISHED = (
    update(_events)
    .where(_events.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("now"))
)


def _mark_enqueued_of(table: Table) -> Update:
    return (
        update(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)))
        .values(jobs_enqueued_at=bindparam("now"))
    )


def _stragglers_of(table: Table) -> Select[Any]:
    return (
        select(table)
        .where(table.c.jobs_enqueued_at.is_(None), table.c.created_at < bindparam("cutoff"))
        .order_by(table.c.id)
        .limit(BATCH_LIMIT)
    )


_MARK_NOTIFICATIONS_ENQUEUED = _mark_enqueued_of(_notifications)
_MARK_DELIVERIES_ENQUEUED = _mark_enqueued_of(_deliveries)
_NOTIFICATION_STRAGGLERS = _stragglers_of(_notifications)
_DELIVERY_STRAGGLERS = _stragglers_of(_deliveries)


class Derivation(Protocol):
    """A domain rule that makes rows of a batch of events, in the relay's unit of work."""

    def needs(self, events: Sequence[AnyRow]) -> BatchNeeds:
        """What it must read about ``events``: the relay reads what every derivation needs in one
        statement (persistence/batch_reads.py)."""
        ...

    async def derive(
        self, conn: AsyncConnection, events: Sequence[AnyRow], reads: BatchReads
    ) -> Sequence[AnyRow]:
        """Inserts the rows ``events`` make (each once, however often it runs for them) and returns
        each such row, new or not, in id order. The notifications' rows carry NOTIFICATION_FIELDS
        (persistence/queries/notification_writes.py), the webhook deliveries'
        DERIVED_DELIVERY_FIELDS (persistence/queries/delivery_writes.py)."""
        ...


@dataclass(frozen=True)
class CommittedBatch:
    """What one publish committed: the event rows, the notifications and the webhook deliveries
    derived from them (rows as the relay's ``Derivation`` objects return them)."""

    events: Sequence[Any]
    notifications: Sequence[Any]
    webhook_deliveries: Sequence[Any] = ()


OnCommitted = Callable[[CommittedBatch], Awaitable[None]]


def event_fields(row: Any) -> dict[str, Any]:
    """An event row as subscribers get it (also what a resuming subscriber is replayed)."""
    return {
        "event_id": row.id,
        "type": row.type,
        "organization_id": row.organization_id,
        "project_id": row.project_id,
        "task_id": row.task_id,
        "actor_id": row.actor_id,
        "sequence": row.sequence,
        "created_at": row.created_at.isoformat(),
        "payload": row.payload,
    }


def event_message(row: Any, snapshot: dict[str, Any] | None = None) -> bytes:
    """The event's message; ``snapshot`` (see persistence/snapshots.py) when read."""
    return orjson.dumps({**event_fields(row), "snapshot": snapshot})


def notification_fields(row: Any) -> dict[str, Any]:
    """What ``notificationAdded`` reads from the recipient's channel, or is replayed."""
    return {
        "notification_id": row.id,
        "user_id": row.user_id,
        "kind": NotificationKind(row.kind).value,
        "event_id": row.event_id,
        "task_id": row.task_id,
        "comment_id": row.comment_id,
        "actor_id": row.actor_id,
        "created_at": row.created_at.isoformat(),
    }


def notification_message(row: Any) -> bytes:
    return orjson.dumps(notification_fields(row))


class Relay:
    def __init__(
        self,
        db: Database,
        redis: Redis,
        breaker: BreakerView,
        *,
        sweep_interval_seconds: float,
        sweep_grace_seconds: float,
        channel_prefix: str,
        derive_notifications: Derivation,
        derive_webhook_deliveries: Derivation,
        publish_delay_seconds: float = 0.0,
        on_committed: Sequence[OnCommitted] = (),
    ) -> None:
        self.db = db
        self.redis = redis
        self.breaker = breaker
        self.sweep_interval_seconds = sweep_interval_seconds
        self.sweep_grace_seconds = sweep_grace_seconds
        self.channel_prefix = channel_prefix
        self.derive_notifications = derive_notifications
        self.derive_webhook_deliveries = derive_webhook_deliveries
        # A window that gathers the commits of a burst into one publish; it is also where a crash
        # between commit and publish happens, which the recovery test widens on purpose.
        self.publish_delay_seconds = publish_delay_seconds
        self.on_committed = tuple(on_committed)
        self._queue: asyncio.Queue[list[int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        # With tracing on (persistence/tracing.py): a publish's span links the requests whose commits
        # it carries (a batch merges many: it is no request's child), and its jobs continue its trace.
        self._tracer = tracer("taskql.relay")
        self._links: list[Link] = []

    def notify(self, event_ids: Iterable[int]) -> None:
        """Called after a commit; never blocks the request (the publishing runs in the relay's task)."""
        ids = list(event_ids)
        if ids:
            self._queue.put_nowait(ids)
            link = None if self._tracer is None else current_link()
            if link is not None:
                self._links.append(link)

    async def start(self) -> None:
        # Started from the lifespan, so these tasks run outside any request's statement counter.
        self._tasks = [asyncio.create_task(self._drain()), asyncio.create_task(self._sweep())]

    async def stop(self) -> None:
        """Cancels the loops; bounded, because a cancel that lands inside a driver call can be
        swallowed there and the task would never finish (what is unpublished is the sweep's)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_SECONDS)
            if stuck:
                log.warning("relay stopped with %d task(s) still unwinding", len(stuck))
        self._tasks = []

    async def _drain(self) -> None:
        while True:
            ids = await self._queue.get()
            if self.publish_delay_seconds > 0:
                await asyncio.sleep(self.publish_delay_seconds)
            while not self._queue.empty():
                ids += self._queue.get_nowait()
            links, self._links = self._links, []
            with loop_span(self._tracer, "relay publish", links):
                # A burst above the claim's limit goes out in several batches now, not with the sweep.
                for start in range(0, len(ids), BATCH_LIMIT):
                    await self.publish(ids[start : start + BATCH_LIMIT])

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_seconds)
            with loop_span(self._tracer, "relay sweep"):
                await self.publish(None)
                await self.hand_over_stragglers()

    async def hand_over_stragglers(self) -> int:
        """Hands the notifications and webhook deliveries older than the grace period whose jobs were
        never confirmed enqueued to the hooks again (at most 500 of each); how many."""
        cutoff = {"cutoff": utcnow() - timedelta(seconds=self.sweep_grace_seconds)}
        try:
            async with self.db.read() as conn:
                notifications = (await conn.execute(_NOTIFICATION_STRAGGLERS, cutoff)).all()
                deliveries = (await conn.execute(_DELIVERY_STRAGGLERS, cutoff)).all()
        except SQLAlchemyError:
            log.warning("relay could not look for unenqueued jobs now; the next sweep does", exc_info=True)
            return 0
        if notifications or deliveries:
            await self._hand_over(CommittedBatch((), notifications, deliveries))
        return len(notifications) + len(deliveries)

    async def publish(self, ids: list[int] | None) -> int:
        """Publishes the unpublished events among ``ids`` (None: every one older than the grace
        period, oldest first); returns how many went out. Failures leave rows for the next sweep."""
        parameters: dict[str, Any]
        if ids is None:
            claim, parameters = (
                _CLAIM_LEFT_BEHIND,
                {"cutoff": utcnow() - timedelta(seconds=self.sweep_grace_seconds)},
            )
        else:
            claim, parameters = _CLAIM_NOTIFIED, {"ids": ids}
        derivations = (self.derive_notifications, self.derive_webhook_deliveries)
        if not await self._redis_answers():
            return 0  # the rows wait for a sweep after the outage
        try:
            async with self.db.unit_of_work() as conn:
                rows = (await conn.execute(claim, parameters)).all()
                if not rows:
                    return 0
                listened = await self._listened_to(rows)
                needs = BatchNeeds(audience_projects=frozenset(row.project_id for row in listened))
                for derivation in derivations:
                    needs |= derivation.needs(rows)
                reads = await read_batch(conn, needs)
                notifications = await self.derive_notifications.derive(conn, rows, reads)
                deliveries = await self.derive_webhook_deliveries.derive(conn, rows, reads)
                snapshots = await event_snapshots(conn, listened, reads.audiences)
                await self._publish_events(rows, snapshots)
                await conn.execute(_MARK_PUBLISHED, {"ids": [row.id for row in rows], "now": utcnow()})
        except (RedisError, OSError, SQLAlchemyError) as error:
            if not isinstance(error, SQLAlchemyError):
                self.breaker.record_failure()
            log.warning("relay could not publish now; the sweep retries", exc_info=True)
            return 0
        await self._announce(notifications)
        await self._hand_over(CommittedBatch(rows, notifications, deliveries))
        return len(rows)

    async def _redis_answers(self) -> bool:
        """Whether to publish now. The claim's row locks are held while Redis is asked (and writes
        inserting events wait on them): during an outage only the breaker's probe asks, with a PING
        before the claim, so a Redis still frozen costs the writes nothing."""
        if self.breaker.is_closed:
            return True
        if not self.breaker.allows():
            return False
        try:
            async with self.breaker.waiting():
                await self.redis.ping()
        except (RedisError, OSError):
            self.breaker.record_failure()
            return False
        self.breaker.record_success()
        return True

    async def _listened_to(self, rows: Sequence[Any]) -> list[Any]:
        """The events whose project channel has a subscriber now (one PUBSUB NUMSUB): only those are
        worth a snapshot. One who subscribes just after gets the event without one and reads it."""
        channels = {row.project_id: project_channel(self.channel_prefix, row.project_id) for row in rows}
        channels.pop(None, None)
        if not channels:
            return []
        async with self.breaker.waiting():
            counts = dict(await self.redis.pubsub_numsub(*channels.values()))
        listened = {
            project_id
            for project_id, channel in channels.items()
            if counts.get(channel.encode(), counts.get(channel, 0))
        }
        return [row for row in rows if row.project_id in listened]

    async def _publish_events(self, rows: Sequence[Any], snapshots: dict[int, dict[str, Any]]) -> None:
        """Each event about a project to its channel, all in one round trip; before the published
        mark, so that a failure leaves them to the sweep."""
        about_projects = [row for row in rows if row.project_id is not None]
        if not about_projects:
            return
        async with self.breaker.waiting(), self.redis.pipeline(transaction=False) as pipe:
            for row in about_projects:
                pipe.publish(
                    project_channel(self.channel_prefix, row.project_id),
                    event_message(row, snapshots.get(row.id)),
                )
            await pipe.execute()

    async def _announce(self, notifications: Sequence[Any]) -> None:
        """After the commit, so a recipient who acts on the message at once (marks it read) finds the
        row; all in one round trip. Lost if Redis fails just now, like any pub/sub message: the row is
        in the recipient's notifications, and a subscriber whose hub lost Redis gets a RESYNC."""
        if not notifications:
            return
        if not self.breaker.allows():
            log.warning(
                "relay skipped announcing %d notification(s): Redis is unavailable", len(notifications)
            )
            return
        try:
            async with self.breaker.waiting(), self.redis.pipeline(transaction=False) as pipe:
                for notification in notifications:
                    pipe.publish(
                        user_channel(self.channel_prefix, notification.user_id),
                        notification_message(notification),
                    )
                await pipe.execute()
        except (RedisError, OSError):
            self.breaker.record_failure()
            log.warning("relay could not announce %d notification(s)", len(notifications), exc_info=True)
            return
        self.breaker.record_success()

    async def _hand_over(self, batch: CommittedBatch) -> None:
        """After the commit, to each ``on_committed`` hook; a failure is logged, never raised, and
        does not keep the other hooks from their share. Marked enqueued only if every hook took it.
        While Redis is unavailable (the hooks enqueue there, and report to the breaker what they meet)
        nothing is handed over: the sweep does it once Redis answers."""
        if self.on_committed and not self.breaker.is_closed:
            return
        taken = True
        for hook in self.on_committed:
            try:
                await hook(batch)
            except Exception:
                taken = False
                events = [event.id for event in batch.events]
                notifications = [notification.id for notification in batch.notifications]
                deliveries = [delivery.id for delivery in batch.webhook_deliveries]
                log.exception(
                    "relay could not hand over event(s) %s, notification(s) %s, webhook delivery(ies) %s "
                    "after commit",
                    events,
                    notifications,
                    deliveries,
                )
        if taken:
            await self._mark_enqueued(batch)

    async def _mark_enqueued(self, batch: CommittedBatch) -> None:
        """One UPDATE per kind that the batch holds (two tables: one statement would need MariaDB's
        multi-table UPDATE, which SQLite lacks). A failure leaves them to the sweep, whose second
        enqueue is refused (the job ids are unique)."""
        now = utcnow()
        kinds = (
            (_MARK_NOTIFICATIONS_ENQUEUED, batch.notifications),
            (_MARK_DELIVERIES_ENQUEUED, batch.webhook_deliveries),
        )
        if not any(rows for _, rows in kinds):
            return
        try:
            async with self.db.unit_of_work() as conn:
                for marked, rows in kinds:
                    if rows:
                        await conn.execute(marked, {"ids": [row.id for row in rows], "now": now})
        except SQLAlchemyError:
            log.warning("relay could not mark jobs enqueued; the sweep hands them over again", exc_info=True)
