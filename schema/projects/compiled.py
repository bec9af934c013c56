"""Project's, Label's and ProjectMember's fields as the compiled reads plan them, Query's project
roots and the reader of the projects list's arguments (see schema/tasks/compiled.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from persistence.compiled.lists import ListArguments
from persistence.compiled.spec import (
    ById,
    ByIdOrKey,
    Column,
    Connection,
    GlobalId,
    LinkRows,
    OpenTaskCount,
    OwnedList,
    RootSpec,
    ToOne,
    TypeSpec,
    ViewerRole,
)
from persistence.settings import Settings
from schema.projects.types import PROJECTS_BY_NAME
from schema.tasks.compiled import _order, _page

PROJECT = TypeSpec(
    "projects",
    {
        "id": GlobalId("Project"),
        "key": Column("key", "text"),
        "name": Column("name", "text"),
        "description": Column("description", "text"),
        "archived": Column("archived_at", "present"),
        "archivedAt": Column("archived_at", "datetime"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
        "openTaskCount": OpenTaskCount("project_id"),
        "viewerRole": ViewerRole(),
        # By name then id in the database's collation, as the resolvers' statement orders them.
        "labels": OwnedList("labels", "project_id", ("name", "id")),
        # Members of the project's (the viewer's) organization only, by name then id.
        "members": LinkRows(
            "project_members", "project_id", "user_id", "users", ("name", "id"), "organization"
        ),
        "tasks": Connection("tasks", "tasks", "tasks", parent_column="project_id"),
    },
)

LABEL = TypeSpec(
    "labels",
    {"id": GlobalId("Label"), "name": Column("name", "text"), "color": Column("color", "text")},
)

# A membership row: the list that holds it already kept the user to the organization.
PROJECT_MEMBER = TypeSpec(
    "project_members",
    {"user": ToOne("users", "user_id", same_organization=False), "role": Column("role", "enum")},
)

# A project the viewer sees, by id (node(id:)) or by id or key (project).
PROJECT_BY_ID = ById("projects", "Project", "id", "project", tenancy="projects")
ROOTS: dict[str, RootSpec] = {
    "project": ByIdOrKey("projects", "Project", "key", "project", "projects"),
    "projects": Connection("projects", "projects", "projects"),
}


def project_list(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    """A projects connection's arguments, by name; ``archived``: only archived (true), only active
    (false), or both (null)."""
    listed = _order(PROJECTS_BY_NAME, "name", descending=False)
    read = _page(arguments, settings, listed, PROJECTS_BY_NAME)
    return replace(read, options=(("archived", arguments.get("archived")),))


BINDERS: dict[str, Callable[[Mapping[str, Any], Settings], ListArguments]] = {"projects": project_list}
