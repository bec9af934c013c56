from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

from persistence.enums import TaskStatus
from persistence.models import Label, Project, ProjectMember, Task, User
from persistence.queries.pagination import SortKey, fetch_page
from persistence.queries.rows import AnyRow, PlainRow, python_types, row_from_json
from persistence.queries.scope import ProjectAudience, Scope, visible_project
from persistence.queries.users import user_columns
from persistence.values import Page, PageRequest, ProjectIncludes

PROJECT_FIELDS = (
    "id",
    "organization_id",
    "key",
    "name",
    "description",
    "archived_at",
    "created_at",
    "updated_at",
)
OPEN_STATUSES = [s.value for s in TaskStatus if s not in (TaskStatus.DONE, TaskStatus.CANCELED)]


def project_columns(table: FromClause, prefix: str = "") -> list[ColumnElement[Any]]:
    return [table.c[name].label(f"{prefix}{name}") for name in PROJECT_FIELDS]


def open_task_count(projects: FromClause) -> ColumnElement[int]:
    """The project row's live tasks that are not done or canceled (the compiled reads count the same)."""
    tasks = Task.__table__.alias()
    return (
        select(func.count())
        .where(
            tasks.c.project_id == projects.c.id,
            # One parameter a status, not an expanding one: a compiled statement's text is final.
            tasks.c.status.in_([literal(status) for status in OPEN_STATUSES]),
            tasks.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )


def viewer_role(projects: FromClause, user_id: int | ColumnElement[int]) -> ColumnElement[Any]:
    """The user's role in the project row (its stored value), NULL when they are no member; the
    user's id as a value or as a bind parameter (the compiled reads)."""
    members = ProjectMember.__table__.alias()
    return (
        select(members.c.role)
        .where(members.c.project_id == projects.c.id, members.c.user_id == user_id)
        .scalar_subquery()
    )


def _extra_columns(scope: Scope, projects: FromClause, includes: ProjectIncludes) -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = []
    if includes.open_task_count:
        columns.append(open_task_count(projects).label("open_task_count"))
    if includes.viewer_role:
        columns.append(viewer_role(projects, scope.user_id).label("viewer_role"))
    return columns


def _visible(scope: Scope, projects: FromClause) -> list[ColumnElement[bool]]:
    return [projects.c.organization_id == scope.organization_id, visible_project(scope, projects.c.id)]


async def projects_by_ids(
    conn: AsyncConnection, scope: Scope, ids: Sequence[int], includes: ProjectIncludes
) -> Sequence[AnyRow]:
    projects = Project.__table__
    statement = select(*project_columns(projects), *_extra_columns(scope, projects, includes)).where(
        projects.c.id.in_(ids), *_visible(scope, projects)
    )
    return (await conn.execute(statement)).all()


async def project_audience(conn: AsyncConnection, project_id: int) -> ProjectAudience | None:
    """The project's organization and members in one statement; None when there is no such project."""
    return (await project_audiences(conn, [project_id])).get(project_id)


async def project_audiences(conn: AsyncConnection, project_ids: Sequence[int]) -> dict[int, ProjectAudience]:
    """The same for several projects, in one statement; a project that does not exist is absent."""
    projects, members = Project.__table__, ProjectMember.__table__
    statement = (
        select(projects.c.id, projects.c.organization_id, members.c.user_id)
        .select_from(projects.outerjoin(members, members.c.project_id == projects.c.id))
        .where(projects.c.id.in_(project_ids))
    )
    organization_of: dict[int, int] = {}
    member_ids: dict[int, set[int]] = {}
    for row in (await conn.execute(statement)).all():
        organization_of[row.id] = row.organization_id
        found = member_ids.setdefault(row.id, set())
        if row.user_id is not None:
            found.add(int(row.user_id))
    return {
        project_id: ProjectAudience(organization_id, frozenset(member_ids[project_id]))
        for project_id, organization_id in organization_of.items()
    }


async def project_by_key(
    conn: AsyncConnection, scope: Scope, key: str, includes: ProjectIncludes
) -> AnyRow | None:
    projects = Project.__table__
    statement = select(*project_columns(projects), *_extra_columns(scope, projects, includes)).where(
        projects.c.key == key, *_visible(scope, projects)
    )
    return (await conn.execute(statement)).first()


async def list_projects(
    conn: AsyncConnection,
    scope: Scope,
    page: PageRequest,
    includes: ProjectIncludes,
    *,
    archived: bool | None,
    member_user_id: int | None = None,
    with_total: bool,
) -> tuple[Page[AnyRow], int | None]:
    """Projects the scope may see, by name; ``member_user_id`` narrows to one user's memberships."""
    projects = Project.__table__
    conditions = _visible(scope, projects)
    if archived is not None:
        conditions.append(
            projects.c.archived_at.is_not(None) if archived else projects.c.archived_at.is_(None)
        )
    if member_user_id is not None:
        members = ProjectMember.__table__
        conditions.append(
            projects.c.id.in_(select(members.c.project_id).where(members.c.user_id == member_user_id))
        )
    count = select(func.count()).select_from(projects).where(*conditions) if with_total else None
    statement = select(*project_columns(projects), *_extra_columns(scope, projects, includes)).where(
        *conditions
    )
    key = SortKey(projects.c.name, projects.c.id, descending=False)
    return await fetch_page(conn, statement, key, page, count)


async def memberships_by_user_ids(
    conn: AsyncConnection, scope: Scope, user_ids: Sequence[int]
) -> Sequence[AnyRow]:
    """Each listed user's projects that the scope may also see, with the user's role there."""
    projects, members = Project.__table__, ProjectMember.__table__
    statement = (
        select(
            *project_columns(projects),
            members.c.user_id.label("member_user_id"),
            members.c.role.label("project_role"),
        )
        .select_from(members.join(projects, projects.c.id == members.c.project_id))
        .where(members.c.user_id.in_(user_ids), *_visible(scope, projects))
        .order_by(projects.c.name, projects.c.id)
    )
    return (await conn.execute(statement)).all()


async def members_by_project_ids(
    conn: AsyncConnection, scope: Scope, project_ids: Sequence[int]
) -> Sequence[AnyRow]:
    users, members = User.__table__, ProjectMember.__table__
    projects = Project.__table__
    statement = (
        select(
            *user_columns(users),
            members.c.project_id.label("member_project_id"),
            members.c.role.label("project_role"),
        )
        .select_from(
            members.join(users, users.c.id == members.c.user_id).join(
                projects, projects.c.id == members.c.project_id
            )
        )
        .where(
            members.c.project_id.in_(project_ids),
            # A membership row naming another organization's user is never shown.
            users.c.organization_id == projects.c.organization_id,
            *_visible(scope, projects),
        )
        .order_by(users.c.name, users.c.id)
    )
    return (await conn.execute(statement)).all()


async def labels_by_project_ids(
    conn: AsyncConnection, scope: Scope, project_ids: Sequence[int]
) -> Sequence[AnyRow]:
    labels, projects = Label.__table__, Project.__table__
    statement = (
        select(labels.c.id, labels.c.project_id, labels.c.name, labels.c.color)
        .select_from(labels.join(projects, projects.c.id == labels.c.project_id))
        .where(labels.c.project_id.in_(project_ids), *_visible(scope, projects))
        .order_by(labels.c.name, labels.c.id)
    )
    return (await conn.execute(statement)).all()


async def labels_by_ids(conn: AsyncConnection, scope: Scope, label_ids: Sequence[int]) -> Sequence[AnyRow]:
    """The labels among these ids whose project the scope sees: one statement."""
    labels, projects = Label.__table__, Project.__table__
    statement = (
        select(labels.c.id, labels.c.project_id, labels.c.name, labels.c.color)
        .select_from(labels.join(projects, projects.c.id == labels.c.project_id))
        .where(labels.c.id.in_(label_ids), *_visible(scope, projects))
    )
    return (await conn.execute(statement)).all()


_PROJECT_TYPES = python_types(project_columns(Project.__table__))


def project_row_from_json(fields: dict[str, Any]) -> PlainRow:
    """A project row from its cached JSON (see ``rows.row_from_json``)."""
    return row_from_json(fields, _PROJECT_TYPES)


async def project_roles_of_user(conn: AsyncConnection, organization_id: int, user_id: int) -> dict[int, str]:
    """The user's role in each project of the organization they are a member of (what decides which
    projects a member or guest sees and edits)."""
    projects, members = Project.__table__, ProjectMember.__table__
    statement = (
        select(members.c.project_id, members.c.role)
        .select_from(members.join(projects, projects.c.id == members.c.project_id))
        .where(members.c.user_id == user_id, projects.c.organization_id == organization_id)
    )
    return {int(row.project_id): str(row.role) for row in (await conn.execute(statement)).all()}
