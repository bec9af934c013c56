"""Project and membership writes. Each is one statement whose WHERE (or a NOT NULL column's guarded
value) carries the permission and validity checks; when it changes nothing, ``project_state`` or
``member_state`` says why."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from persistence.enums import OrgRole, ProjectRole
from persistence.models import Project, ProjectMember, User
from persistence.models.base import UtcDateTime
from persistence.queries.projects import project_columns
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project
from persistence.queries.user_writes import ORG_ADMINS, acting_user, violated
from persistence.queries.users import user_columns

# Aliases built once: aliased() copies every column of its table, about 1 ms per call.
_colleague_user = aliased(User, name="colleague")
_creator_user = aliased(User, name="creator")
_membership_projectmember = aliased(ProjectMember, name="membership")
_other_projectmember = aliased(ProjectMember, name="other")
_others_projectmember = aliased(ProjectMember, name="others")


_projects = Project.__table__
_members = ProjectMember.__table__
_users = User.__table__
# Guests work only where they are invited; everyone else in the organization may start a project.
PROJECT_CREATORS = (OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER)


class Refused(enum.Enum):
    """Why an insert wrote nothing: a check in its guard, or the row is already there."""

    CHECKS = "checks"
    DUPLICATE = "duplicate"


def may_manage_project(scope: Scope, project_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Organization owners and admins manage every project; others need the admin role in it."""
    admins = select(_members.c.project_id).where(
        _members.c.user_id == scope.user_id, _members.c.role == ProjectRole.ADMIN
    )
    return or_(acting_user(scope, ORG_ADMINS), project_id.in_(admins))


def _managed_project(scope: Scope, project_id: int) -> list[ColumnElement[bool]]:
    return [
        _projects.c.id == project_id,
        _projects.c.organization_id == scope.organization_id,
        visible_project(scope, _projects.c.id),
        may_manage_project(scope, _projects.c.id),
    ]


@dataclass(frozen=True)
class ProjectDraft:
    key: str
    name: str
    description: str


async def insert_project(
    conn: AsyncConnection, scope: Scope, draft: ProjectDraft, now: datetime
) -> int | Refused:
    """The project, if the actor may create one (its organization_id is NULL otherwise, which the
    NOT NULL column refuses) and the key is free in the organization."""
    guarded_organization = select(_creator_user.organization_id).where(
        _creator_user.id == scope.user_id, acting_user(scope, PROJECT_CREATORS)
    )
    values = {
        "organization_id": guarded_organization.scalar_subquery(),
        "key": draft.key,
        "name": draft.name,
        "description": draft.description,
        "task_counter": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        row = (await conn.execute(insert(Project).values(**values).returning(_projects.c.id))).one()
    except IntegrityError as error:
        if violated(error, "'organization_id' cannot be null", "NOT NULL constraint failed: projects."):
            return Refused.CHECKS
        if violated(error, "uq_projects_organization_id_key", "projects.organization_id, projects.key"):
            return Refused.DUPLICATE
        raise
    return int(row.id)


async def insert_creator_membership(
    conn: AsyncConnection, project_id: int, user_id: int, now: datetime
) -> None:
    """The creator administers the project they just made (no check: the insert before was one)."""
    values = {"project_id": project_id, "user_id": user_id, "role": ProjectRole.ADMIN, "created_at": now}
    await conn.execute(insert(ProjectMember).values(**values))


async def update_project(
    conn: AsyncConnection, scope: Scope, project_id: int, values: dict[str, Any], now: datetime
) -> bool:
    statement = update(Project).where(*_managed_project(scope, project_id)).values(**values, updated_at=now)
    return (await conn.execute(statement)).rowcount == 1


def archived_at(archived: bool, now: datetime) -> ColumnElement[Any] | None:
    """Archiving keeps the first archiving time (archiving twice changes nothing); unarchiving clears it."""
    if not archived:
        return None
    return func.coalesce(_projects.c.archived_at, literal(now, UtcDateTime()))


async def project_state(conn: AsyncConnection, scope: Scope, project_id: int) -> bool | None:
    """Whether the scope may manage the project; None when it may not see it."""
    statement = select(may_manage_project(scope, _projects.c.id).label("may_manage")).where(
        _projects.c.id == project_id,
        _projects.c.organization_id == scope.organization_id,
        visible_project(scope, _projects.c.id),
    )
    row = (await conn.execute(statement)).first()
    return None if row is None else bool(row.may_manage)


# --- members -----------------------------------------------------------------------------------------


def _another_admin() -> ColumnElement[bool]:
    return exists().where(
        _other_projectmember.project_id == _members.c.project_id,
        _other_projectmember.role == ProjectRole.ADMIN,
        _other_projectmember.user_id != _members.c.user_id,
    )


def _keeps_an_admin(new_role: ProjectRole | None) -> ColumnElement[bool]:
    """Removing (None) or demoting a member leaves the project at least one admin."""
    if new_role is ProjectRole.ADMIN:
        return true()
    return or_(_members.c.role != ProjectRole.ADMIN, _another_admin())


def _active_colleague(scope: Scope, user_id: int) -> ColumnElement[bool]:
    return exists().where(
        _colleague_user.id == user_id,
        _colleague_user.organization_id == scope.organization_id,
        _colleague_user.deactivated_at.is_(None),
    )


async def insert_member(
    conn: AsyncConnection, scope: Scope, project_id: int, user_id: int, role: ProjectRole, now: datetime
) -> Refused | None:
    """Adds an active user of the organization to a project the actor manages; the checks ride in
    the project_id value (NULL, refused by the column, unless they all pass)."""
    guarded_project = select(_projects.c.id).where(
        *_managed_project(scope, project_id), _active_colleague(scope, user_id)
    )
    values = {
        "project_id": guarded_project.scalar_subquery(),
        "user_id": user_id,
        "role": role,
        "created_at": now,
    }
    try:
        await conn.execute(insert(ProjectMember).values(**values))
    except IntegrityError as error:
        if violated(error, "'project_id' cannot be null", "NOT NULL constraint failed: project_members."):
            return Refused.CHECKS
        if violated(error, "for key 'PRIMARY'", "UNIQUE constraint failed: project_members."):
            return Refused.DUPLICATE
        raise
    return None


def _membership(scope: Scope, project_id: int, user_id: int) -> list[ColumnElement[bool]]:
    managed = exists().where(*_managed_project(scope, project_id))
    return [_members.c.project_id == project_id, _members.c.user_id == user_id, managed]


async def delete_member(conn: AsyncConnection, scope: Scope, project_id: int, user_id: int) -> bool:
    statement = delete(ProjectMember).where(*_membership(scope, project_id, user_id), _keeps_an_admin(None))
    return (await conn.execute(statement)).rowcount == 1


async def change_member_role(
    conn: AsyncConnection, scope: Scope, project_id: int, user_id: int, role: ProjectRole
) -> bool:
    statement = (
        update(ProjectMember)
        .where(*_membership(scope, project_id, user_id), _keeps_an_admin(role))
        .values(role=role)
    )
    return (await conn.execute(statement)).rowcount == 1


@dataclass(frozen=True)
class MemberState:
    """Why a membership write changed nothing: read only on that path."""

    may_manage: bool
    user_active: bool
    role: ProjectRole | None
    another_admin: bool


async def member_state(
    conn: AsyncConnection, scope: Scope, project_id: int, user_id: int
) -> MemberState | None:
    """None when the scope may not see the project (missing and foreign read alike)."""
    role = select(_membership_projectmember.role).where(
        _membership_projectmember.project_id == project_id, _membership_projectmember.user_id == user_id
    )
    another_admin = exists().where(
        _others_projectmember.project_id == project_id,
        _others_projectmember.role == ProjectRole.ADMIN,
        _others_projectmember.user_id != user_id,
    )
    statement = select(
        may_manage_project(scope, _projects.c.id).label("may_manage"),
        _active_colleague(scope, user_id).label("user_active"),
        role.scalar_subquery().label("role"),
        another_admin.label("another_admin"),
    ).where(
        _projects.c.id == project_id,
        _projects.c.organization_id == scope.organization_id,
        visible_project(scope, _projects.c.id),
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return MemberState(
        bool(row.may_manage),
        bool(row.user_active),
        None if row.role is None else ProjectRole(row.role),
        bool(row.another_admin),
    )


async def membership_row(conn: AsyncConnection, scope: Scope, project_id: int, user_id: int) -> AnyRow | None:
    """The payload of a membership write in one read: the project, the member's user and role."""
    statement = (
        select(
            *project_columns(_projects, "project_"),
            *user_columns(_users, "user_"),
            _members.c.role.label("member_role"),
        )
        .select_from(
            _members.join(_projects, _projects.c.id == _members.c.project_id).join(
                _users, _users.c.id == _members.c.user_id
            )
        )
        .where(
            _members.c.project_id == project_id,
            _members.c.user_id == user_id,
            _projects.c.organization_id == scope.organization_id,
            visible_project(scope, _projects.c.id),
        )
    )
    row: AnyRow | None = (await conn.execute(statement)).first()
    return row
