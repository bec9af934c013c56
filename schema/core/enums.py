"""GraphQL enums, taken from the model's enums so the values cannot drift apart.

``strawberry.enum`` registers the Python enum itself, so fields are annotated with it; modules import
these from here, which makes sure each is registered (under its GraphQL name) before a type uses it.
"""

from __future__ import annotations

import enum

import strawberry

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.values import TaskOrderField

__all__ = ["OrderDirection", "OrgRole", "ProjectRole", "TaskOrderField", "TaskStatus"]

strawberry.enum(OrgRole, name="UserRole")
strawberry.enum(ProjectRole, name="ProjectRole")
strawberry.enum(TaskStatus, name="TaskStatus")
strawberry.enum(TaskOrderField, name="TaskOrderField")


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"
