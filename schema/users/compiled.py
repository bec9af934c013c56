"""User's, ProjectMembership's and Organization's fields as the compiled reads plan them, Query's
user roots and the reader of the users list's arguments (see schema/tasks/compiled.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from persistence.compiled.lists import ListArguments
from persistence.compiled.spec import (
    ById,
    Column,
    Connection,
    GlobalId,
    LinkRows,
    RootSpec,
    ToOne,
    TypeSpec,
)
from persistence.settings import Settings
from schema.tasks.compiled import _order, _page
from schema.users.types import USERS_BY_NAME

USER = TypeSpec(
    "users",
    {
        "id": GlobalId("User"),
        "name": Column("name", "text"),
        "email": Column("email", "text"),
        "role": Column("role", "enum"),
        "deactivated": Column("deactivated_at", "present"),
        "createdAt": Column("created_at", "datetime"),
        # The user's projects the viewer sees too, by name then id (the database's collation).
        "projects": LinkRows(
            "project_members", "user_id", "project_id", "projects", ("name", "id"), "projects"
        ),
        "assignedTasks": Connection("tasks", "tasks", "tasks", parent_column="assignee_id"),
    },
)

# A membership row: the list that holds it already kept the project to those the viewer sees.
PROJECT_MEMBERSHIP = TypeSpec(
    "project_members",
    {"project": ToOne("projects", "project_id", same_organization=False), "role": Column("role", "enum")},
)

ORGANIZATION = TypeSpec(
    "organizations",
    {
        "id": GlobalId("Organization"),
        "slug": Column("slug", "text"),
        "name": Column("name", "text"),
        "createdAt": Column("created_at", "datetime"),
    },
)

# The viewer's own devices (node(id:) and nodes(ids:) only).
PUSH_DEVICE = TypeSpec(
    "push_devices",
    {
        "id": GlobalId("PushDevice"),
        "platform": Column("platform", "enum"),
        "createdAt": Column("created_at", "datetime"),
        "lastSeenAt": Column("last_seen_at", "datetime"),
    },
)

INVITATION = TypeSpec(
    "invitations",
    {
        "id": GlobalId("Invitation"),
        "email": Column("email", "text"),
        "role": Column("role", "enum"),
        "expiresAt": Column("expires_at", "datetime"),
    },
)

# A user of the viewer's organization (user(id:), node(id:)).
USER_BY_ID = ById("users", "User", "id", "user", tenancy="organization")
ROOTS: dict[str, RootSpec] = {
    "user": USER_BY_ID,
    "users": Connection("users", "users", "organization"),
}


def user_list(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    """A users connection's arguments, by name; deactivated users only when asked for."""
    listed = _order(USERS_BY_NAME, "name", descending=False)
    read = _page(arguments, settings, listed, USERS_BY_NAME)
    included = bool(arguments.get("includeDeactivated", False))
    return replace(read, options=(("include_deactivated", included),))


BINDERS: dict[str, Callable[[Mapping[str, Any], Settings], ListArguments]] = {"users": user_list}
