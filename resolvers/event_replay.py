"""Resumable subscriptions: what a subscriber has been sent, and what it is owed from the database.

Pub/sub is at-most-once: what is published while a process is not subscribed (a Redis restart, a
server restart, a queue that overflowed) reaches nobody. The events table is the durable log behind
it, so each subscription keeps a cursor, and anything pub/sub skipped is read from the log:

- ``taskEvents`` keeps the last sequence it handed on. A project's sequence has no hole in commit
  order (persistence/queries/events.py: the next number is taken under the unique index), so a live
  event more than one ahead of the cursor means the ones between were published elsewhere or lost,
  and they are committed already: they are read and sent first. A duplicate (at-least-once relay, a
  replay that overlapped the live stream) is at or below the cursor and dropped.
- ``notificationAdded`` keeps the highest id handed on, and the ids of the most recent ones: ids come
  from AUTO_INCREMENT and several relays commit side by side, so one may land just below an id
  already sent. Anything above the window's floor that was not sent yet is still new.

A RESYNC is sent only where the log cannot fill the gap: more than ``REPLAY_LIMIT`` behind, or what
the cleanup purged. It means "refetch": the stream then continues after the head at that moment.

After a Redis reconnect every listener of a channel gets the same ``Resync`` object; listeners with
the same cursor share one read through its ``memo``, so a reconnect costs a statement per channel
and cursor, not per subscriber.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from persistence.metrics import SUBSCRIPTION_REPLAYED, SUBSCRIPTION_RESYNCS
from persistence.models.base import utcnow
from persistence.pubsub import Delivery, Message, Resync
from persistence.queries import event_log
from persistence.queries.rows import AnyRow
from persistence.relay import event_fields, notification_fields
from resolvers.context import Services
from resolvers.event_reads import preload_snapshots

# The most a resume or a gap fill replays; further behind, one RESYNC instead.
REPLAY_LIMIT = 1000
# How long a live event that arrived ahead of a missing one waits for the log to hold the missing one.
GAP_WAIT_SECONDS = 1.0
GAP_RETRY_SECONDS = 0.1
# Notification ids kept to tell a late-committed notification from one already sent.
RECENT_NOTIFICATIONS = 256
# A notification read returns the recent ones again (they are above the floor): room for them.
_NOTIFICATION_READ_LIMIT = REPLAY_LIMIT + RECENT_NOTIFICATIONS + 1

T = TypeVar("T")


class ReplayedMessage(Message):
    """A message read from the log, not heard on pub/sub: it carries no snapshot of its own."""


async def _shared(memo: dict[str, Any], key: tuple[Any, ...], read: Callable[[], Awaitable[T]]) -> T:
    """``read``'s result, read once for every listener of a delivery (``memo`` is the delivery's) that
    asks with ``key``."""
    started = memo.get(repr(key))
    if started is None:
        started = memo[repr(key)] = asyncio.ensure_future(read())
    result: T = await asyncio.shield(started)  # one listener leaving must not cancel the others' read
    return result


class ProjectCursor:
    """One ``taskEvents`` subscription's place in its project's sequence."""

    def __init__(self, services: Services, project_id: int, last: int) -> None:
        self.services = services
        self.project_id = project_id
        self.last = last

    @classmethod
    async def at_head(cls, services: Services, project_id: int) -> ProjectCursor:
        """A subscription without ``afterSequence`` starts after what is committed now."""
        async with services.db.read() as conn:
            head = await event_log.project_event_head(conn, project_id)
        return cls(services, project_id, head)

    async def catch_up(self, reason: str) -> list[Delivery]:
        """Everything committed after the cursor, in order; or one RESYNC when that cannot be replayed."""
        return await self._advance(await self._replay(self.last), reason)

    async def admit(self, delivery: Delivery) -> list[Delivery]:
        """What to hand on for a live delivery, in order: nothing for a duplicate, the gap's events
        before one that arrived early, the log's events after the cursor for a ``Resync``."""
        after = self.last
        if isinstance(delivery, Resync):
            replay = await _shared(
                delivery.memo, ("after", self.project_id, after), lambda: self._replay(after)
            )
            return await self._advance(replay, delivery.reason)
        sequence = delivery.get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            return [delivery]  # not a sequenced event; nothing to order it by
        if sequence <= after:
            return []
        missing: list[Delivery] = []
        if sequence > after + 1:
            # The message is the same object for every listener here: they share the gap's read.
            gap = await _shared(
                delivery.memo, ("gap", self.project_id, after), lambda: self._gap(after, sequence)
            )
            if gap is None:
                SUBSCRIPTION_RESYNCS.labels("taskEvents", "gap").inc()
                missing = [Resync("gap")]
            else:
                SUBSCRIPTION_REPLAYED.labels("taskEvents", "gap").inc(len(gap))
                missing = list(gap)
        self.last = sequence
        return [*missing, delivery]

    async def _advance(self, replay: list[ReplayedMessage] | None, reason: str) -> list[Delivery]:
        """Moves the cursor past a replay; past the head for one that could not be made (a RESYNC)."""
        if replay is None:
            # The client refetches what is committed now; the stream goes on after it.
            async with self.services.db.read() as conn:
                self.last = max(self.last, await event_log.project_event_head(conn, self.project_id))
            SUBSCRIPTION_RESYNCS.labels("taskEvents", reason).inc()
            return [Resync(reason)]
        if replay:
            self.last = int(replay[-1]["sequence"])
            SUBSCRIPTION_REPLAYED.labels("taskEvents", reason).inc(len(replay))
        return list(replay)

    async def _replay(self, after: int, before: int | None = None) -> list[ReplayedMessage] | None:
        """The log's events after ``after`` (and before ``before``) as messages, their snapshots
        read with them; None when they cannot all be replayed (more than the limit, or a hole)."""
        async with self.services.db.read() as conn:
            rows = await event_log.project_events_after(
                conn, self.project_id, after, before=before, limit=REPLAY_LIMIT + 1
            )
        if len(rows) > REPLAY_LIMIT or not _contiguous(rows, after):
            return None
        messages = [ReplayedMessage(event_fields(row)) for row in rows]
        if messages:
            await preload_snapshots(messages, self.services, int(rows[0].organization_id), self.project_id)
        return messages

    async def _gap(self, after: int, arrived: int) -> list[ReplayedMessage] | None:
        """The events between the cursor and one that arrived ahead of them. They committed before it
        did, so the log holds them; the wait covers a read that raced the commit's visibility. None
        when they cannot be read (purged, or more than the limit)."""
        wanted = arrived - after - 1
        deadline = asyncio.get_running_loop().time() + GAP_WAIT_SECONDS
        while True:
            replay = await self._replay(after, arrived)
            if replay is not None and len(replay) == wanted:
                return replay
            if wanted > REPLAY_LIMIT or asyncio.get_running_loop().time() >= deadline:
                return None
            await asyncio.sleep(GAP_RETRY_SECONDS)


def _contiguous(rows: Sequence[AnyRow], after: int) -> bool:
    """Whether the rows are exactly ``after + 1``, ``after + 2``, ...: a hole is an event purged."""
    return all(int(row.sequence) == after + 1 + index for index, row in enumerate(rows))


class NotificationCursor:
    """One ``notificationAdded`` subscription's place among its user's notifications."""

    def __init__(self, services: Services, user_id: int, floor: int) -> None:
        self.services = services
        self.user_id = user_id
        # Every notification at or below the floor was sent or replayed (or is older than the resume).
        self.floor = floor
        self._recent: set[int] = set()

    @classmethod
    async def at_head(cls, services: Services, user_id: int) -> NotificationCursor:
        async with services.db.read() as conn:
            head = await event_log.user_notification_head(conn, user_id)
        return cls(services, user_id, head)

    @classmethod
    async def resume(
        cls, services: Services, user_id: int, after_id: int
    ) -> tuple[NotificationCursor, list[Delivery]]:
        """Replays the user's notifications after ``after_id``. RESYNC first when ``after_id`` is not
        a notification of theirs that is still kept, or is older than the deleted-task retention (the
        cleanup purges a deleted task's notifications, so later ones may be gone)."""
        async with services.db.read() as conn:
            anchor = await event_log.notification_anchor(conn, user_id, after_id)
        if after_id >= anchor.head:
            return cls(services, user_id, after_id), []  # ahead of everything: nothing to replay
        cursor = cls(services, user_id, after_id)
        retention = timedelta(days=services.settings.deleted_task_retention_days)
        if after_id > 0 and (anchor.created_at is None or anchor.created_at < utcnow() - retention):
            cursor.floor = anchor.user_head
            SUBSCRIPTION_RESYNCS.labels("notificationAdded", "purged").inc()
            return cursor, [Resync("purged")]
        return cursor, await cursor.catch_up("resume")

    async def catch_up(self, reason: str) -> list[Delivery]:
        return await self._replayed(await self._read_after(self.floor), reason)

    async def _read_after(self, floor: int) -> Sequence[AnyRow]:
        async with self.services.db.read() as conn:
            return await event_log.notifications_after(
                conn, self.user_id, floor, limit=_NOTIFICATION_READ_LIMIT
            )

    async def admit(self, delivery: Delivery) -> list[Delivery]:
        if isinstance(delivery, Resync):
            floor = self.floor
            rows = await _shared(
                delivery.memo, ("user", self.user_id, floor), lambda: self._read_after(floor)
            )
            return await self._replayed(rows, delivery.reason)
        notification_id = delivery.get("notification_id")
        if not isinstance(notification_id, int) or isinstance(notification_id, bool):
            return [delivery]
        if notification_id <= self.floor or notification_id in self._recent:
            return []
        self._remember(notification_id)
        return [delivery]

    async def _replayed(self, rows: Sequence[AnyRow], reason: str) -> list[Delivery]:
        fresh = [row for row in rows if int(row.id) not in self._recent]
        if len(rows) == _NOTIFICATION_READ_LIMIT or len(fresh) > REPLAY_LIMIT:
            # The client refetches what is there now; the stream goes on after it.
            async with self.services.db.read() as conn:
                head = await event_log.user_notification_head(conn, self.user_id)
            self.floor = max(self.floor, head)
            self._recent.clear()
            SUBSCRIPTION_RESYNCS.labels("notificationAdded", reason).inc()
            return [Resync(reason)]
        for row in fresh:
            self._remember(int(row.id))
        if fresh:
            SUBSCRIPTION_REPLAYED.labels("notificationAdded", reason).inc(len(fresh))
        return [ReplayedMessage(notification_fields(row)) for row in fresh]

    def _remember(self, notification_id: int) -> None:
        """Keeps the most recent ids; the oldest one dropped becomes the floor."""
        self._recent.add(notification_id)
        if len(self._recent) > RECENT_NOTIFICATIONS:
            oldest = min(self._recent)
            self._recent.discard(oldest)
            self.floor = max(self.floor, oldest)
