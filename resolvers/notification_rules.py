"""Who an event notifies; the relay derives these notifications from the events it publishes.

- ``task.assigned`` (and ``task.created`` with an assignee): the new assignee is notified.
- ``task.commented`` for a new comment: every user it mentions (resolvers/mentions.py) is notified;
  editing a comment notifies nobody.

Nobody is notified of their own action, nor about a task they may not read: the recipient must be
an active user of the task's organization who sees its project (owners and admins, or members).

The relay derives inside the unit of work that marks the events published, before it marks them,
so a crash leaves both to the sweep; the unique key (event, recipient) makes a second derivation
insert nothing (persistence/queries/notification_writes.py). Per batch of events, whatever its size:
one read of the new comments' bodies (when there are any), one read of who may be notified, one
insert, one read back of the notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

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


async def derive_notifications(conn: AsyncConnection, events: Sequence[AnyRow]) -> Sequence[AnyRow]:
    """Inserts the notifications ``events`` make (once per event and recipient, however often this
    runs for them) and returns every notification of those events, oldest first, to publish."""
    wanted: list[_Wanted] = []
    commented: dict[int, AnyRow] = {}
    for event in events:
        if event.task_id is None:
            continue
        assignee = _assignee(event)
        if assignee is not None:
            wanted.append(_Wanted(event, NotificationKind.ASSIGNED, user_id=assignee))
        comment_id = _new_comment(event)
        if comment_id is not None:
            commented[comment_id] = event
    if commented:
        task_of_comment = {comment_id: event.task_id for comment_id, event in commented.items()}
        for comment_id, body in (await queries.live_comment_bodies(conn, task_of_comment)).items():
            event = commented[comment_id]
            wanted += [
                _Wanted(event, NotificationKind.MENTIONED, email=email, comment_id=comment_id)
                for email in mentioned_emails(body)
            ]
    if not wanted:
        return []
    readers = await queries.task_readers(
        conn,
        [(w.user_id, w.event.task_id) for w in wanted if w.user_id is not None],
        [(w.email, w.event.task_id) for w in wanted if w.email is not None],
    )
    values = _values(wanted, readers)
    if not values:
        return []
    return await queries.insert_notifications(conn, values)


def _values(wanted: list[_Wanted], readers: list[AnyRow]) -> list[dict[str, Any]]:
    """The notifications of those wanted who may read their task, but for the event's own actor, once
    per event and recipient."""
    by_id = {(row.user_id, row.task_id) for row in readers}
    by_email = {(row.email.lower(), row.task_id): row.user_id for row in readers}
    values: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for w in wanted:
        event = w.event
        user_id = w.user_id if (w.user_id, event.task_id) in by_id else None
        if w.email is not None:
            user_id = by_email.get((w.email, event.task_id))
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
