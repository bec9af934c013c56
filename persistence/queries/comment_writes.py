"""Comment writes. Each is one statement that carries its permission and validity checks; then one
read of the comment (``comment_state``) gives the task the event is about and the comment the payload
shows, or, when the write changed nothing, says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import ProjectRole
from persistence.models import Comment, ProjectMember, Task, User
from persistence.prepared import PreparedStatements
from persistence.queries.comments import COMMENT_FIELDS
from persistence.queries.guards import guarded_id
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, may_edit_project_of, visible_project_of, visible_tasks
from persistence.queries.users import user_columns

_comments = Comment.__table__
_tasks = Task.__table__


_ADMIN = literal(ProjectRole.ADMIN, ProjectMember.__table__.c.role.type)
Viewer = int | ColumnElement[int]


def may_admin_project(
    sees_all_projects: bool, user_id: Viewer, project_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """Organization owners and admins, and the project's own admins. (Here and below, the viewer's id
    is a value or a bind parameter: a statement prepared once for every viewer of a kind.)"""
    if sees_all_projects:
        return true()
    admins = select(ProjectMember.project_id).where(
        ProjectMember.user_id == user_id, ProjectMember.role == _ADMIN
    )
    return project_id.in_(admins)


# The two policies below read ``tasks`` columns: they hold only inside a statement that has the
# comment's task in its FROM (the guard's EXISTS, the state read's join).
def may_edit_comment(sees_all_projects: bool, user_id: Viewer) -> ColumnElement[bool]:
    """Only its author, and only while they may still write to the project (a viewer writes nothing)."""
    return and_(
        _comments.c.author_id == user_id, may_edit_project_of(sees_all_projects, user_id, _tasks.c.project_id)
    )


def may_delete_comment(sees_all_projects: bool, user_id: Viewer) -> ColumnElement[bool]:
    """Its author (as for an edit), or whoever administers the project."""
    return or_(
        may_edit_comment(sees_all_projects, user_id),
        may_admin_project(sees_all_projects, user_id, _tasks.c.project_id),
    )


def _live_visible_task(scope: Scope) -> list[ColumnElement[bool]]:
    return visible_tasks(scope.organization_id, scope.sees_all_projects, scope.user_id)


def _insert_statement(dialect: str, sees_all_projects: bool) -> Insert:
    viewer = bindparam("viewer", type_=Integer)
    now = bindparam("now", type_=_comments.c.created_at.type)
    guarded_task = select(_tasks.c.id).where(
        _tasks.c.id == bindparam("task", type_=Integer),
        _tasks.c.organization_id == bindparam("organization", type_=Integer),
        _tasks.c.deleted_at.is_(None),
        visible_project_of(sees_all_projects, viewer, _tasks.c.project_id),
        may_edit_project_of(sees_all_projects, viewer, _tasks.c.project_id),
    )
    return (
        insert(Comment)
        .values(
            task_id=guarded_task.scalar_subquery(),
            author_id=viewer,
            body=bindparam("new_body", type_=_comments.c.body.type),
            created_at=now,
            updated_at=now,
        )
        .returning(_comments.c.id)
    )


_INSERTS = PreparedStatements(
    _insert_statement, frozenset(["viewer", "now", "task", "organization", "new_body"])
)


async def insert_comment(
    conn: AsyncConnection, scope: Scope, task_id: int, body: str, now: datetime
) -> int | None:
    """The new comment's id, or None when the checks refused it.

    One INSERT ... VALUES (never INSERT ... SELECT: MariaDB's table-wide AUTO-INC lock deadlocks
    concurrent ones). The checks ride in the task_id value: the task's id when it is live, visible
    and editable by the scope, NULL otherwise, which the NOT NULL column refuses. The statement is
    prepared once per kind of viewer (persistence/prepared.py).
    """
    values = {
        "viewer": scope.user_id,
        "organization": scope.organization_id,
        "task": task_id,
        "new_body": body,
        "now": now,
    }
    return await guarded_id(_INSERTS.execute(conn, (scope.sees_all_projects,), values), "comments", "task_id")


async def edit_comment(
    conn: AsyncConnection, scope: Scope, comment_id: int, body: str, now: datetime
) -> bool:
    """A new body, if the comment is live and the scope may edit it; False when nothing changed."""
    may = may_edit_comment(scope.sees_all_projects, scope.user_id)
    return await _update_comment(conn, scope, comment_id, may, body=body, updated_at=now)


async def delete_comment(conn: AsyncConnection, scope: Scope, comment_id: int, now: datetime) -> bool:
    """Soft: the row stays (the task's activity points at it); every read skips it from now on."""
    may = may_delete_comment(scope.sees_all_projects, scope.user_id)
    return await _update_comment(conn, scope, comment_id, may, deleted_at=now)


async def _update_comment(
    conn: AsyncConnection, scope: Scope, comment_id: int, may: ColumnElement[bool], **values: object
) -> bool:
    # The EXISTS correlates to the updated comments row, so ``may`` sees its author and its task.
    guard = exists().where(_tasks.c.id == _comments.c.task_id, *_live_visible_task(scope), may)
    statement = (
        update(Comment)
        .where(_comments.c.id == comment_id, _comments.c.deleted_at.is_(None), guard)
        .values(**values)
    )
    result = await conn.execute(statement)
    return result.rowcount == 1


@dataclass(frozen=True)
class CommentState:
    """A comment as the scope sees it, with what the scope may do to it."""

    # Comment.from_row's columns, its author joined under "author__".
    comment: AnyRow
    task_id: int
    deleted: bool
    may_edit: bool
    may_delete: bool


def _state_statement(sees_all_projects: bool) -> Select[Any]:
    authors = User.__table__.alias("author")
    viewer = bindparam("viewer", type_=Integer)
    organization = bindparam("organization", type_=Integer)
    return (
        select(
            *[_comments.c[name] for name in COMMENT_FIELDS],
            _comments.c.deleted_at,
            *user_columns(authors, "author__"),
            may_edit_comment(sees_all_projects, viewer).label("may_edit"),
            may_delete_comment(sees_all_projects, viewer).label("may_delete"),
        )
        .select_from(
            _comments.join(_tasks, _tasks.c.id == _comments.c.task_id).outerjoin(
                authors,
                (authors.c.id == _comments.c.author_id)
                & (authors.c.organization_id == _tasks.c.organization_id),
            )
        )
        .where(
            _comments.c.id == bindparam("comment", type_=Integer),
            *visible_tasks(organization, sees_all_projects, viewer),
        )
    )


# Built once per kind of viewer and run through SQLAlchemy (its rows need the columns' result types):
# the same statement object each time, so its cache key is computed once and the compiled form reused.
_STATES = {sees_all: _state_statement(sees_all) for sees_all in (False, True)}


async def comment_state(conn: AsyncConnection, scope: Scope, comment_id: int) -> CommentState | None:
    """None when the comment does not exist or the scope may not see its task (the two read alike)."""
    values = {"comment": comment_id, "organization": scope.organization_id, "viewer": scope.user_id}
    row = (await conn.execute(_STATES[scope.sees_all_projects], values)).first()
    if row is None:
        return None
    return CommentState(
        row, row.task_id, row.deleted_at is not None, bool(row.may_edit), bool(row.may_delete)
    )
