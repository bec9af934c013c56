"""The viewer's notifications: the connection (one statement, counts included) and marking read.

Every statement is bounded to the scope's own user: nobody reads or marks another's notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Comment, Notification, Task, User
from persistence.queries.notification_writes import NOTIFICATION_FIELDS
from persistence.queries.pagination import SortKey, paginate, to_page
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project
from persistence.queries.users import user_columns
from persistence.values import NotificationIncludes, NotificationPage, PageRequest

_notifications = Notification.__table__
NEWEST_FIRST = SortKey(_notifications.c.id, _notifications.c.id, descending=True)
COMMENT_FIELDS = ("id", "body", "created_at", "updated_at")


EVERYTHING = NotificationIncludes(actor=True, comment=True)


def _mine(scope: Scope) -> list[ColumnElement[bool]]:
    n = _notifications
    return [n.c.user_id == scope.user_id, n.c.organization_id == scope.organization_id]


def _count(scope: Scope, *, unread_only: bool) -> Select[Any]:
    """Off the recipient's index alone (no row is read): a user belongs to one organization, so the
    user's id names the same rows as ``_mine``."""
    n = _notifications
    conditions = [n.c.user_id == scope.user_id] + ([n.c.read_at.is_(None)] if unread_only else [])
    return select(func.count()).select_from(n).where(*conditions)


def _unread_count(scope: Scope) -> Select[Any]:
    return _count(scope, unread_only=True)


def _select(scope: Scope, includes: NotificationIncludes) -> Select[Any]:
    n = _notifications
    columns: list[Any] = [n.c[name] for name in NOTIFICATION_FIELDS] + [n.c.read_at]
    source: Any = n
    if includes.actor:
        actors = User.__table__.alias("actor")
        source = source.outerjoin(
            actors, and_(actors.c.id == n.c.actor_id, actors.c.organization_id == n.c.organization_id)
        )
        columns += user_columns(actors, "actor__")
    if includes.comment:
        # The comment only while its task is live and the scope sees it (as the task field itself).
        tasks, comments = Task.__table__.alias("comment_task"), Comment.__table__.alias("comment")
        source = source.outerjoin(
            tasks,
            and_(
                tasks.c.id == n.c.task_id,
                tasks.c.organization_id == scope.organization_id,
                tasks.c.deleted_at.is_(None),
                visible_project(scope, tasks.c.project_id),
            ),
        ).outerjoin(
            comments,
            and_(
                comments.c.id == n.c.comment_id,
                comments.c.task_id == tasks.c.id,
                comments.c.deleted_at.is_(None),
            ),
        )
        columns += [comments.c[name].label(f"comment__{name}") for name in COMMENT_FIELDS]
    return select(*columns).select_from(source)


async def own_notifications(
    conn: AsyncConnection, scope: Scope, notification_ids: Sequence[int], includes: NotificationIncludes
) -> Sequence[AnyRow]:
    """The scope's own notifications among these ids, in one statement, in no particular order."""
    statement = _select(scope, includes).where(*_mine(scope), _notifications.c.id.in_(notification_ids))
    rows: Sequence[AnyRow] = (await conn.execute(statement)).all()
    return rows


async def notification_page(
    conn: AsyncConnection,
    scope: Scope,
    page: PageRequest,
    includes: NotificationIncludes,
    *,
    unread_only: bool,
    with_total: bool,
    with_unread: bool,
) -> NotificationPage[AnyRow]:
    """One page, newest first, with the total (of this filter) and the unread count riding along as
    subqueries; only an empty page after a cursor needs a second statement for them."""
    n = _notifications
    conditions = _mine(scope) + ([n.c.read_at.is_(None)] if unread_only else [])
    counts: dict[str, Select[Any]] = {}
    if with_total:
        counts["total_count"] = _count(scope, unread_only=unread_only)
    if with_unread:
        counts["unread_count"] = _unread_count(scope)
    labelled = [count.scalar_subquery().label(name) for name, count in counts.items()]
    statement = paginate(_select(scope, includes).where(*conditions), NEWEST_FIRST, page)
    rows = (await conn.execute(statement.add_columns(*labelled))).all()
    found: dict[str, int] = {}
    if counts and rows:
        found = {name: int(getattr(rows[0], name)) for name in counts}
    elif counts and page.after is None and page.before is None:
        # Nothing matches at all: without the filter no notification exists; with it none is unread.
        found = dict.fromkeys(counts, 0)
    elif counts:
        row = (await conn.execute(select(*labelled))).one()
        found = {name: int(getattr(row, name)) for name in counts}
    return NotificationPage(to_page(rows, page), found.get("total_count"), found.get("unread_count"))


async def notifications_by_ids(
    conn: AsyncConnection, scope: Scope, ids: Sequence[int]
) -> tuple[Sequence[AnyRow], int]:
    """The scope's own notifications among ``ids`` (newest first, actor and comment joined) and its
    unread count, in one statement."""
    n = _notifications
    statement = (
        _select(scope, EVERYTHING)
        .add_columns(_unread_count(scope).scalar_subquery().label("unread_count"))
        .where(n.c.id.in_(ids), *_mine(scope))
        .order_by(n.c.id.desc())
    )
    rows = (await conn.execute(statement)).all()
    if rows:
        return rows, int(rows[0].unread_count)
    return rows, int((await conn.execute(_unread_count(scope))).scalar_one())


async def mark_read(conn: AsyncConnection, scope: Scope, ids: Sequence[int] | None, now: datetime) -> int:
    """Marks the scope's own unread notifications among ``ids`` (None: all of them) read at ``now``;
    how many changed. A notification read already keeps its first read time."""
    n = _notifications
    statement = update(Notification).where(*_mine(scope), n.c.read_at.is_(None))
    if ids is not None:
        statement = statement.where(n.c.id.in_(ids))
    result = await conn.execute(statement.values(read_at=now))
    return int(result.rowcount)
