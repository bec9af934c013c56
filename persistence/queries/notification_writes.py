"""The statements that make notifications (who is notified is resolvers/notification_rules.py's to
say): the new comments' bodies, who may be notified about a task, the insert and its read back.

They run in the relay's unit of work, the one that marks the events published: the insert skips a row
whose (event, recipient) is there already, so deriving the same events again inserts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from persistence.models import Comment, Notification, Task, User
from persistence.queries.rows import AnyRow
from persistence.queries.scope import user_sees_project

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


async def live_comment_bodies(conn: AsyncConnection, task_of_comment: Mapping[int, int]) -> dict[int, str]:
    """The bodies of the live comments among ``task_of_comment``'s keys, each only if it belongs to
    the task it maps to."""
    comments = Comment.__table__
    statement = select(comments.c.id, comments.c.task_id, comments.c.body).where(
        comments.c.id.in_(sorted(task_of_comment)), comments.c.deleted_at.is_(None)
    )
    rows = (await conn.execute(statement)).all()
    return {row.id: row.body for row in rows if row.task_id == task_of_comment[row.id]}


async def task_readers(
    conn: AsyncConnection, id_pairs: Iterable[tuple[int, int]], email_pairs: Iterable[tuple[str, int]]
) -> list[AnyRow]:
    """Of the (user id, task id) and (email, task id) pairs, those where the user is active, in the
    task's organization and may read the (live) task: rows of ``user_id``, ``email`` and ``task_id``.
    One statement for them all; at least one of the two must hold a pair."""
    users, tasks = User.__table__, Task.__table__
    by_id, by_email = sorted(set(id_pairs)), sorted(set(email_pairs))
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
            tasks.c.id.in_(sorted({task_id for _, task_id in [*by_id, *by_email]})),
            or_(*coarse),
            or_(*pairs),
            tasks.c.deleted_at.is_(None),
            users.c.deactivated_at.is_(None),
            user_sees_project(users, tasks.c.project_id),
        )
    )
    return list((await conn.execute(statement)).all())


async def insert_notifications(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> Sequence[AnyRow]:
    """Inserts the notifications whose (event, recipient) is not there yet and returns every
    notification of their events (``NOTIFICATION_FIELDS``), oldest first."""
    await conn.execute(_insert_once(conn.dialect.name), values)
    # By the unique (event, recipient) index; sorted here, since an ORDER BY id invites MariaDB to
    # walk the whole primary key instead.
    statement = select(*[_notifications.c[name] for name in NOTIFICATION_FIELDS]).where(
        _notifications.c.event_id.in_(sorted({v["event_id"] for v in values}))
    )
    return sorted((await conn.execute(statement)).all(), key=lambda row: int(row.id))


def _insert_once(dialect: str) -> Insert:
    """An insert that skips a row whose (event, recipient) is there already, and only that: unlike
    INSERT IGNORE, MariaDB's ON DUPLICATE KEY UPDATE still refuses every other error."""
    if dialect == "sqlite":
        return sqlite_insert(Notification).on_conflict_do_nothing(index_elements=["event_id", "user_id"])
    statement = mysql_insert(Notification)
    return statement.on_duplicate_key_update(event_id=statement.inserted.event_id)
