"""What the scheduled emails read: tasks coming due, active users in batches, a user's weekly digest.

"Open" means neither done nor canceled. A task is due at the end of its due date (UTC). Every read that
names a task for a user also checks that the user may still read it: same organization, and an owner
or admin of it, or a member of the task's project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import TaskStatus
from persistence.models import Notification, Project, Task, User
from persistence.queries.rows import AnyRow
from persistence.queries.scope import user_sees_project

CLOSED = (TaskStatus.DONE, TaskStatus.CANCELED)
DIGEST_TITLES = 10


def may_read_task(users: Any, tasks: Any) -> ColumnElement[bool]:
    """Whether the user may read the task now (role and membership as they are at this moment)."""
    return and_(
        tasks.c.organization_id == users.c.organization_id, user_sees_project(users, tasks.c.project_id)
    )


def _open_task_of(users: Any, tasks: Any) -> list[ColumnElement[bool]]:
    return [
        tasks.c.assignee_id == users.c.id,
        tasks.c.deleted_at.is_(None),
        tasks.c.status.not_in(CLOSED),
        users.c.deactivated_at.is_(None),
        may_read_task(users, tasks),
    ]


async def due_soon_assignments(
    conn: AsyncConnection, *, first_day: date, last_day: date, after_id: int, limit: int
) -> list[AnyRow]:
    """Open tasks due between the two days (inclusive) whose assignee is active and may read them:
    ``(task_id, assignee_id, due_date)``, by task id after ``after_id`` (the scan's keyset)."""
    tasks, users = Task.__table__, User.__table__
    statement = (
        select(tasks.c.id.label("task_id"), tasks.c.assignee_id, tasks.c.due_date)
        .select_from(tasks.join(users, users.c.id == tasks.c.assignee_id))
        .where(
            tasks.c.due_date >= first_day,
            tasks.c.due_date <= last_day,
            tasks.c.id > after_id,
            *_open_task_of(users, tasks),
        )
        .order_by(tasks.c.id)
        .limit(limit)
    )
    return list((await conn.execute(statement)).all())


async def due_soon_email(conn: AsyncConnection, task_id: int, assignee_id: int) -> AnyRow | None:
    """The task as its due-soon email shows it, when it is still open, assigned to this active user
    who may read it; None otherwise."""
    tasks, users, projects = Task.__table__, User.__table__, Project.__table__
    statement = (
        select(
            tasks.c.title,
            tasks.c.due_date,
            projects.c.name.label("project_name"),
            users.c.email,
            users.c.name,
        )
        .select_from(
            tasks.join(users, users.c.id == tasks.c.assignee_id).join(
                projects, projects.c.id == tasks.c.project_id
            )
        )
        .where(tasks.c.id == task_id, users.c.id == assignee_id, *_open_task_of(users, tasks))
    )
    row: AnyRow | None = (await conn.execute(statement)).one_or_none()
    return row


async def active_user_ids(conn: AsyncConnection, *, after_id: int, limit: int) -> list[int]:
    users = User.__table__
    statement = (
        select(users.c.id)
        .where(users.c.deactivated_at.is_(None), users.c.id > after_id)
        .order_by(users.c.id)
        .limit(limit)
    )
    return [int(user_id) for user_id in (await conn.execute(statement)).scalars()]


@dataclass(frozen=True)
class Digest:
    """One user's week: open tasks assigned to them (how many, how many overdue, the first titles by
    due date), what they completed in the week before, and their unread notifications."""

    email: str
    name: str
    open_count: int
    overdue_count: int
    titles: list[tuple[str, date | None]]
    completed_count: int
    unread_count: int

    @property
    def is_empty(self) -> bool:
        return not (self.open_count or self.completed_count or self.unread_count)


async def digest_for(
    conn: AsyncConnection, user_id: int, *, today: date, completed_since: datetime, completed_before: datetime
) -> Digest | None:
    """Three statements: the user with their counts, the first titles, the unread count. None when
    the user is gone or deactivated."""
    tasks, users = Task.__table__, User.__table__
    mine = tasks.c.assignee_id == users.c.id
    readable = and_(mine, tasks.c.deleted_at.is_(None), may_read_task(users, tasks))
    is_open = and_(readable, tasks.c.status.not_in(CLOSED))
    completed = and_(
        readable,
        tasks.c.status == TaskStatus.DONE,
        tasks.c.completed_at >= completed_since,
        tasks.c.completed_at < completed_before,
    )
    counts = (
        select(
            users.c.email,
            users.c.name,
            func.count(case((is_open, 1))).label("open_count"),
            func.count(case((and_(is_open, tasks.c.due_date < today), 1))).label("overdue_count"),
            func.count(case((completed, 1))).label("completed_count"),
        )
        .select_from(users.outerjoin(tasks, mine))
        .where(users.c.id == user_id, users.c.deactivated_at.is_(None))
        .group_by(users.c.id, users.c.email, users.c.name)
    )
    user = (await conn.execute(counts)).one_or_none()
    if user is None:
        return None
    titles: list[tuple[str, date | None]] = []
    if user.open_count:
        first = (
            select(tasks.c.title, tasks.c.due_date)
            .select_from(users.join(tasks, mine))
            .where(users.c.id == user_id, is_open)
            # Due first (soonest first, undated last), then oldest.
            .order_by(tasks.c.due_date.is_(None), tasks.c.due_date, tasks.c.id)
            .limit(DIGEST_TITLES)
        )
        titles = [(row.title, row.due_date) for row in await conn.execute(first)]
    notifications = Notification.__table__
    unread = await conn.scalar(
        select(func.count())
        .select_from(notifications)
        .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
    )
    return Digest(
        email=user.email,
        name=user.name,
        open_count=int(user.open_count),
        overdue_count=int(user.overdue_count),
        titles=titles,
        completed_count=int(user.completed_count),
        unread_count=int(unread or 0),
    )
