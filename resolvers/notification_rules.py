"""Who an event notifies; the relay derives these notifications from the events it publishes.

- ``task.assigned`` (and ``task.created`` with an assignee): the new assignee is notified.
- ``task.commented`` for a new comment: every user it mentions (resolvers/mentions.py) is notified;
  editing a comment notifies nobody.

Nobody is notified of their own action, nor about a task they may not read: the recipient must be
an active user of the task's organization who sees its project (owners and admins, or members).

The relay derives inside the unit of work that marks the events published, before it marks them,
so a crash leaves both to the sweep; the unique key (event, recipient) makes a second derivation
insert nothing (persistence/queries/notification_writes.py). Per batch of events, whatever its size:
the comments' bodies and whether the assignees may read their tasks come with the relay's one read
of the batch (persistence/batch_reads.py); one read of who of those mentioned may be notified (only
when a comment mentions someone: the bodies must be read first), one insert that returns the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.batch_reads import BatchNeeds, BatchReads
from persistence.enums import NotificationKind
from persistence.queries import notification_writes as queries
from persistence.queries.rows import AnyRow
from resolvers.mentions import mentioned_emails


@dataclass(frozen=True)
class _Wanted:
    """Someone an event may notify, named by id (an assignee) or by email (a mention)."""

    event: AnyRow
    kind: NotificationKind
    user_id: int | None = None
    email: str | None = None
    comment_id: int | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _payload(event: AnyRow) -> dict[str, Any]:
    return event.payload if isinstance(event.payload, dict) else {}


def _assignee(event: AnyRow) -> int | None:
    """Whom the event made the task's assignee (taskAssign, or taskCreate with an assignee)."""
    payload = _payload(event)
    if event.type == "task.assigned":
        changes = payload.get("changes")
        return _int(changes.get("assignee_id")) if isinstance(changes, dict) else None
    if event.type == "task.created":
        return _int(payload.get("assignee_id"))
    return None


def _new_comment(event: AnyRow) -> int | None:
    payload = _payload(event)
    if event.type != "task.commented" or payload.get("action") != "created":
        return None
    return _int(payload.get("comment_id"))


class NotificationDerivation:
    """The relay's ``Derivation`` of notifications."""

    def needs(self, events: Sequence[AnyRow]) -> BatchNeeds:
        """The new comments' bodies, and whether each assignee may read the task."""
        comments: set[tuple[int, int]] = set()
        readers: set[tuple[int, int]] = set()
        for event in events:
            if event.task_id is None:
                continue
            assignee = _assignee(event)
            if assignee is not None:
                readers.add((assignee, event.task_id))
            comment_id = _new_comment(event)
            if comment_id is not None:
                comments.add((comment_id, event.task_id))
        return BatchNeeds(comments=frozenset(comments), readers=frozenset(readers))

    async def derive(
        self, conn: AsyncConnection, events: Sequence[AnyRow], reads: BatchReads
    ) -> Sequence[AnyRow]:
        """Inserts the notifications ``events`` make (once per event and recipient, however often
        this runs for them) and returns each of them, new or not, oldest first, to publish."""
        wanted: list[_Wanted] = []
        for event in events:
            if event.task_id is None:
                continue
            assignee = _assignee(event)
            if assignee is not None and (assignee, event.task_id) in reads.readers:
                wanted.append(_Wanted(event, NotificationKind.ASSIGNED, user_id=assignee))
            comment_id = _new_comment(event)
            body = reads.comment_bodies.get(comment_id) if comment_id is not None else None
            if body is not None:
                wanted += [
                    _Wanted(event, NotificationKind.MENTIONED, email=email, comment_id=comment_id)
                    for email in mentioned_emails(body)
                ]
        mentions = [(w.email, w.event.task_id) for w in wanted if w.email is not None]
        readers = await queries.mentioned_readers(conn, mentions) if mentions else []
        values = _values(wanted, {(row.email.lower(), row.task_id): row.user_id for row in readers})
        if not values:
            return []
        return await queries.insert_notifications(conn, values)


def _values(wanted: list[_Wanted], mentioned: dict[tuple[str, int], int]) -> list[dict[str, Any]]:
    """The notifications of those wanted (an assignee already known to read the task; a mention, if
    its address is a reader's of the task), but for the event's own actor, once per event and
    recipient."""
    values: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for w in wanted:
        event = w.event
        user_id = w.user_id if w.email is None else mentioned.get((w.email, event.task_id))
        if user_id is None or user_id == event.actor_id or (event.id, user_id) in seen:
            continue
        seen.add((event.id, user_id))
        values.append(
            {
                "organization_id": event.organization_id,
                "user_id": user_id,
                "kind": w.kind,
                "event_id": event.id,
                "task_id": event.task_id,
                "comment_id": w.comment_id,
                "actor_id": event.actor_id,
                "created_at": event.created_at,
                "read_at": None,
            }
        )
    return values
