"""Notifications derived from the events the relay publishes.

- ``task.assigned`` (and ``task.created`` with an assignee): the new assignee is notified.
- ``task.commented`` for a new comment: every user it mentions is notified. A mention is ``@``
  followed by the user's full email address (``@ada@example.com``): emails are unique, so a mention
  never names two people, and it needs no handle column. It starts a word (after a space, a line
  break or an opening bracket or quote); trailing punctuation is not part of it. At most
  ``MAX_MENTIONS`` people per comment; editing a comment notifies nobody.

Nobody is notified of their own action, nor about a task they may not read: the recipient must be
an active user of the task's organization who sees its project (owners and admins, or members).

The relay derives inside the unit of work that marks the events published, before it marks them,
so a crash leaves both to the sweep; the unique key (event, recipient) makes a second derivation
insert nothing. Per batch of events, whatever its size: one read of the new comments' bodies (when
there are any), one read of who may be notified, one insert, one read back of the notifications.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from persistence.enums import NotificationKind
from persistence.models import Comment, Notification, Task, User
from persistence.queries.rows import AnyRow
from persistence.queries.scope import user_sees_project

MAX_MENTIONS = 20
# "@" at the start of a word, then an address: something, "@", something with a dot in it.
_MENTION = re.compile(r"(?:^|(?<=[\s(\[{<\"']))@([^@\s]+@[^@\s]+)")
_TRAILING = ".,;:!?)]}>'\""
NOTIFICATION_FIELDS = (
    "id",
    "user_id",
    "kind",
    "event_id",
    "task_id",
    "comment_id",
    "actor_id",
    "created_at",
)

_notifications = Notification.__table__


def mentioned_emails(body: str) -> list[str]:
    """The addresses a comment mentions, lower-cased, each once, in order, at most MAX_MENTIONS."""
    found: list[str] = []
    for match in _MENTION.finditer(body):
        email = match.group(1).rstrip(_TRAILING).lower()
        local, _, domain = email.partition("@")
        if not local or "." not in domain.strip(".") or email in found:
            continue
        found.append(email)
        if len(found) == MAX_MENTIONS:
            break
    return found


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
        for comment_id, body in (await _comment_bodies(conn, commented)).items():
            event = commented[comment_id]
            wanted += [
                _Wanted(event, NotificationKind.MENTIONED, email=email, comment_id=comment_id)
                for email in mentioned_emails(body)
            ]
    if not wanted:
        return []
    values = _values(wanted, await _readers(conn, wanted))
    if not values:
        return []
    await conn.execute(_insert_once(conn.dialect.name), values)
    # By the unique (event, recipient) index; sorted here, since an ORDER BY id invites MariaDB to
    # walk the whole primary key instead.
    statement = select(*[_notifications.c[name] for name in NOTIFICATION_FIELDS]).where(
        _notifications.c.event_id.in_(sorted({v["event_id"] for v in values}))
    )
    return sorted((await conn.execute(statement)).all(), key=lambda row: int(row.id))


async def _comment_bodies(conn: AsyncConnection, commented: dict[int, AnyRow]) -> dict[int, str]:
    """The live comments' bodies, each only if it belongs to its event's task."""
    comments = Comment.__table__
    statement = select(comments.c.id, comments.c.task_id, comments.c.body).where(
        comments.c.id.in_(sorted(commented)), comments.c.deleted_at.is_(None)
    )
    rows = (await conn.execute(statement)).all()
    return {row.id: row.body for row in rows if row.task_id == commented[row.id].task_id}


async def _readers(conn: AsyncConnection, wanted: list[_Wanted]) -> list[AnyRow]:
    """Of the (user, task) pairs wanted, those where the user is active, in the task's organization
    and may read the (live) task. One statement for the whole batch."""
    users, tasks = User.__table__, Task.__table__
    by_id = sorted({(w.user_id, w.event.task_id) for w in wanted if w.user_id is not None})
    by_email = sorted({(w.email, w.event.task_id) for w in wanted if w.email is not None})
    pairs: list[ColumnElement[bool]] = []
    coarse: list[ColumnElement[bool]] = []
    if by_id:
        pairs.append(tuple_(users.c.id, tasks.c.id).in_(by_id))
        coarse.append(users.c.id.in_(sorted({user_id for user_id, _ in by_id})))
    if by_email:
        pairs.append(tuple_(users.c.email, tasks.c.id).in_(by_email))
        coarse.append(users.c.email.in_(sorted({email for email, _ in by_email})))
    statement = (
        select(users.c.id.label("user_id"), users.c.email, tasks.c.id.label("task_id"))
        .select_from(users.join(tasks, tasks.c.organization_id == users.c.organization_id))
        .where(
            # The coarse conditions let both tables be read by their indexes; the pairs are exact.
            tasks.c.id.in_(sorted({w.event.task_id for w in wanted})),
            or_(*coarse),
            or_(*pairs),
            tasks.c.deleted_at.is_(None),
            users.c.deactivated_at.is_(None),
            user_sees_project(users, tasks.c.project_id),
        )
    )
    return list((await conn.execute(statement)).all())


def _values(wanted: list[_Wanted], readers: list[AnyRow]) -> list[dict[str, Any]]:
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


def _insert_once(dialect: str) -> Insert:
    """An insert that skips a row whose (event, recipient) is there already, and only that: unlike
    INSERT IGNORE, MariaDB's ON DUPLICATE KEY UPDATE still refuses every other error."""
    if dialect == "sqlite":
        return sqlite_insert(Notification).on_conflict_do_nothing(index_elements=["event_id", "user_id"])
    statement = mysql_insert(Notification)
    return statement.on_duplicate_key_update(event_id=statement.inserted.event_id)
