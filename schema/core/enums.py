"""GraphQL enums, taken from the model's enums so the values cannot drift apart."""

from __future__ import annotations

import enum

import strawberry

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.queries.tasks import TaskOrderField

UserRole = strawberry.enum(OrgRole, name="UserRole")
ProjectMemberRole = strawberry.enum(ProjectRole, name="ProjectRole")
TaskStatusEnum = strawberry.enum(TaskStatus, name="TaskStatus")
TaskOrderFieldEnum = strawberry.enum(TaskOrderField, name="TaskOrderField")


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"
