"""The tenancy filter every read applies: the principal's organization and the projects it may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, literal, or_, select, true
from sqlalchemy.sql import FromClause

from persistence.enums import OrgRole, ProjectRole
from persistence.models import ProjectMember, Task, User

_tasks = Task.__table__
_members = ProjectMember.__table__
# The roles as SQL values, not Python ones: an IN list of Python values is expanded on every execution,
# which a statement prepared once (persistence/prepared.py) cannot do.
_SEES_ALL_PROJECTS = [literal(role, User.__table__.c.role.type) for role in (OrgRole.OWNER, OrgRole.ADMIN)]
_EDITS = [literal(role, _members.c.role.type) for role in (ProjectRole.ADMIN, ProjectRole.EDITOR)]


@dataclass(frozen=True)
class Scope:
    organization_id: int
    user_id: int
    # Organization owners and admins see every project; members and guests only their own.
    sees_all_projects: bool


def visible_project(scope: Scope, project_id: ColumnElement[int]) -> ColumnElement[bool]:
    """True where ``project_id`` names a project the scope may see (its organization is checked apart)."""
    return visible_project_of(scope.sees_all_projects, scope.user_id, project_id)


def visible_project_of(
    sees_all_projects: bool, user_id: int | ColumnElement[int], project_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """``visible_project`` with the viewer's id as a value or as a bind parameter (a statement built
    once and run for many viewers of the same kind)."""
    if sees_all_projects:
        return true()
    member_of = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
    return project_id.in_(member_of)


def visible_tasks(
    organization_id: int | ColumnElement[int],
    sees_all_projects: bool,
    user_id: int | ColumnElement[int],
    tasks: FromClause = _tasks,
) -> list[ColumnElement[bool]]:
    """The tasks a viewer may read: live, of its organization, in a project it sees. The values may be
    bind parameters and ``tasks`` an alias (the compiled operations build a statement once for every
    viewer of a kind, with tasks nested in tasks)."""
    return [
        tasks.c.organization_id == organization_id,
        tasks.c.deleted_at.is_(None),
        visible_project_of(sees_all_projects, user_id, tasks.c.project_id),
    ]


def user_sees_project(users: Any, project_id: ColumnElement[int]) -> ColumnElement[bool]:
    """``visible_project`` for a user row of a statement (``users``: the users table or an alias):
    an owner or admin of the organization, or a member of the project (the organization is checked
    apart)."""
    # Correlated to whichever enclosing statement holds the user and the project, however deep: left
    # to auto-correlation, a project two levels up (a write's guard: EXISTS(users ... EXISTS(members)))
    # joined in the project's table anew, and membership of any project passed.
    member = exists().where(_members.c.project_id == project_id, _members.c.user_id == users.c.id)
    return or_(users.c.role.in_(_SEES_ALL_PROJECTS), member.correlate_except(_members))


@dataclass(frozen=True)
class ProjectAudience:
    """Who may see one project: its organization and its members' user ids."""

    organization_id: int
    member_ids: frozenset[int]


def sees_project(scope: Scope, audience: ProjectAudience) -> bool:
    """``visible_project`` (plus the organization check every read adds) for a project already read,
    so that one read of its audience answers for every subscriber of an event."""
    if scope.organization_id != audience.organization_id:
        return False
    return scope.sees_all_projects or scope.user_id in audience.member_ids


def may_edit_project(scope: Scope, project_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Owners and admins edit every project; others need the editor or admin role in it (viewers read)."""
    return may_edit_project_of(scope.sees_all_projects, scope.user_id, project_id)


def may_edit_project_of(
    sees_all_projects: bool, user_id: int | ColumnElement[int], project_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """``may_edit_project`` with the editor's id as a value or as a bind parameter (a write prepared
    once for every writer of a kind)."""
    if sees_all_projects:
        return true()
    editors = select(_members.c.project_id).where(_members.c.user_id == user_id, _members.c.role.in_(_EDITS))
    return project_id.in_(editors)
