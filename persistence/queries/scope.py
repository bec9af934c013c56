"""The tenancy filter every read applies: the principal's organization and the projects it may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, true

from persistence.models import ProjectMember


@dataclass(frozen=True)
class Scope:
    organization_id: int
    user_id: int
    # Organization owners and admins see every project; members and guests only their own.
    sees_all_projects: bool


def visible_project(scope: Scope, project_id: ColumnElement[int]) -> ColumnElement[bool]:
    """True where ``project_id`` names a project the scope may see (its organization is checked apart)."""
    if scope.sees_all_projects:
        return true()
    member_of = select(ProjectMember.project_id).where(ProjectMember.user_id == scope.user_id)
    return project_id.in_(member_of)


def in_organization(scope: Scope, organization_id: ColumnElement[int]) -> ColumnElement[bool]:
    return organization_id == scope.organization_id


def both(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(*conditions)


def either(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(*conditions)
