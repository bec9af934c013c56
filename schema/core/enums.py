"""GraphQL enums, taken from the model's enums so the values cannot drift apart.

``strawberry.enum`` registers the Python enum itself, so fields are annotated with it; modules import
these from here, which makes sure each is registered (under its GraphQL name) before a type uses it.
"""

from __future__ import annotations

import enum

import strawberry

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.values import TaskOrderField
from schema.core.described import graphql_enum

__all__ = ["OrderDirection", "OrgRole", "ProjectRole", "TaskOrderField", "TaskStatus"]

graphql_enum(
    OrgRole,
    name="UserRole",
    description="A user's role in the organization.",
    values={
        "OWNER": "Everything, including the organization's owners; there is always at least one.",
        "ADMIN": "Manages users, projects, webhooks and API keys; sees and writes every project.",
        "MEMBER": "Makes projects and works in the projects they belong to.",
        "GUEST": "Works in the projects they belong to; makes none.",
    },
)
graphql_enum(
    ProjectRole,
    name="ProjectRole",
    description="A member's role in one project.",
    values={
        "ADMIN": "Manages the project, its members and its labels, and writes its tasks.",
        "EDITOR": "Writes the project's tasks, comments and labels.",
        "VIEWER": "Reads the project; writes nothing.",
    },
)
graphql_enum(
    TaskStatus,
    name="TaskStatus",
    description="A task's column on the board.",
    values={
        "BACKLOG": "Not planned yet.",
        "TODO": "Planned, not started.",
        "IN_PROGRESS": "Being worked on.",
        "IN_REVIEW": "Done, waiting for a review.",
        "DONE": "Finished (sets `completedAt`).",
        "CANCELED": "Dropped without being done.",
    },
)
graphql_enum(
    TaskOrderField,
    name="TaskOrderField",
    description="What a task list is ordered by (ties broken by id).",
    values={
        "CREATED_AT": "When the task was made.",
        "UPDATED_AT": "When it last changed.",
        "DUE_DATE": "Its due date; tasks without one come last.",
        "PRIORITY": "Its priority, 0 to 4.",
        "NUMBER": "Its number in its project.",
        "POSITION": "Its place on the board within its status column.",
    },
)


@strawberry.enum(description="Which way a list runs.")
class OrderDirection(enum.Enum):
    ASC = strawberry.enum_value("asc", description="Smallest (or oldest) first.")
    DESC = strawberry.enum_value("desc", description="Largest (or newest) first.")
