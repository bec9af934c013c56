"""The statements that make notifications (who is notified is resolvers/notification_rules.py's to
say): who of those a batch's comments mention may be notified, and the insert.

They run in the relay's unit of work, the one that marks the events published: the insert leaves a
row whose (event, recipient) is there already as it is, so deriving the same events again inserts
nothing. The assignees' rights and the comments' bodies come with the batch's one read
(persistence/batch_reads.py); who a comment mentions is known only once its body is read, hence the
statement of its own here. Both are built once, their lists expanding bind parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from persistence.models import Notification, Task, User
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
_users, _tasks = User.__table__, Task.__table__

_MENTIONED_READERS = (
    select(_users.c.id.label("user_id"), _users.c.email, _tasks.c.id.label("task_id"))
    .select_from(_users.join(_tasks, _tasks.c.organization_id == _users.c.organization_id))
    .where(
        # The single keys let both tables be read by their indexes; the pairs are exact.
        _tasks.c.id.in_(bindparam("task_ids", expanding=True)),
        _users.c.email.in_(bindparam("emails", expanding=True)),
        tuple_(_users.c.email, _tasks.c.id).in_(bindparam("pairs", expanding=True)),
        _tasks.c.deleted_at.is_(None),
        _users.c.deactivated_at.is_(None),
        user_sees_project(_users, _tasks.c.project_id),
    )
)


async def mentioned_readers(conn: AsyncConnection, email_pairs: Iterable[tuple[str, int]]) -> list[AnyRow]:
    """Of the (email, task id) pairs, those where the user is active, in the task's organization and
    may read the (live) task: rows of ``user_id``, ``email`` and ``task_id``."""
    pairs = sorted(set(email_pairs))
    parameters = {
        "task_ids": sorted({task_id for _, task_id in pairs}),
        "emails": sorted({email for email, _ in pairs}),
        "pairs": pairs,
    }
    return list((await conn.execute(_MENTIONED_READERS, parameters)).all())


async def insert_notifications(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> list[AnyRow]:
    """Inserts the notifications whose (event, recipient) is not there yet, in one multi-row INSERT
    per 1,000 rows (SQLAlchemy's "insertmanyvalues" pages), and returns the notification of every
    (event, recipient) of ``values`` (``NOTIFICATION_FIELDS``), new or not, in id order."""
    dialect = "sqlite" if conn.dialect.name == "sqlite" else "mysql"
    rows = (await conn.execute(_INSERT_ONCE[dialect], values)).all()
    return sorted(rows, key=lambda row: int(row.id))


def _insert_once(dialect: str) -> Insert:
    """An insert that leaves a row whose (event, recipient) is there already as it was, and only that:
    unlike INSERT IGNORE, MariaDB's ON DUPLICATE KEY UPDATE still refuses every other error. The
    update changes nothing; it is there so that RETURNING gives the row there already too (MariaDB
    returns the rows of both branches, SQLite those of DO UPDATE, not of DO NOTHING)."""
    returned = [_notifications.c[name] for name in NOTIFICATION_FIELDS]
    if dialect == "sqlite":
        lite = sqlite_insert(Notification)
        return lite.on_conflict_do_update(
            index_elements=["event_id", "user_id"], set_={"event_id": lite.excluded.event_id}
        ).returning(*returned)
    statement = mysql_insert(Notification)
    return statement.on_duplicate_key_update(event_id=statement.inserted.event_id).returning(*returned)


_INSERT_ONCE = {dialect: _insert_once(dialect) for dialect in ("mysql", "sqlite")}
