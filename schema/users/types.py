from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from persistence.records import UserRecord
from resolvers import projects as project_resolvers
from resolvers.context import RequestContext
from schema.core.connections import After, Before, Connection, First, Last
from schema.core.cursors import CursorOrder
from schema.core.enums import OrgRole, ProjectRole
from schema.core.ids import encode_id
from schema.core.node import Node

if TYPE_CHECKING:
    from schema.projects.types import Project
    from schema.tasks.types import TaskConnection, TaskFilterInput, TaskOrderInput


@strawberry.type(description="A person of an organization, with a role there.")
class User(Node):
    name: str = strawberry.field(description="Their display name.")
    email: str = strawberry.field(description="Their email address (also their sign-in).")
    role: OrgRole = strawberry.field(description="Their role in the organization.")
    deactivated: bool = strawberry.field(
        description="Whether they were deactivated (they can no longer sign in)."
    )
    created_at: datetime = strawberry.field(description="When they joined.")
    _db_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(
            id=strawberry.ID(encode_id("User", record.id)),
            name=record.name,
            email=record.email,
            role=record.role,
            deactivated=record.deactivated_at is not None,
            created_at=record.created_at,
            _db_id=record.id,
        )

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> User:
        """From the cached session's copy of the user (the viewer costs no statement)."""
        return cls(
            id=strawberry.ID(encode_id("User", entry["id"])),
            name=entry["name"],
            email=entry["email"],
            role=OrgRole(entry["role"]),
            deactivated=entry["deactivated_at"] is not None,
            created_at=datetime.fromisoformat(entry["created_at"]),
            _db_id=entry["id"],
        )

    @strawberry.field(description="This user's projects that the viewer can see too, with the user's role.")
    async def projects(self, info: Info[RequestContext, None]) -> list[ProjectMembership]:
        from schema.projects.types import Project  # noqa: PLC0415 - Project and User refer to each other

        found = await project_resolvers.memberships(info.context, self._db_id)
        return [ProjectMembership(project=Project.from_record(m.project), role=m.role) for m in found]

    @strawberry.field(description="Tasks assigned to this user, in projects the viewer can see.")
    async def assigned_tasks(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[  # noqa: A002
            Annotated[TaskFilterInput, strawberry.lazy("schema.tasks.types")] | None,
            strawberry.argument(description="Which of their tasks, as `tasks` filters."),
        ] = None,
        order_by: Annotated[
            Annotated[TaskOrderInput, strawberry.lazy("schema.tasks.types")] | None,
            strawberry.argument(description="The order; newest first by default."),
        ] = None,
    ) -> Annotated[TaskConnection, strawberry.lazy("schema.tasks.types")]:
        from schema.tasks.types import nested_task_connection  # noqa: PLC0415 - Task and User refer to each other

        return await nested_task_connection(
            info, "assignee_id", self._db_id, first, after, last, before, filter, order_by
        )


@strawberry.type(description="A page of users, by name.")
class UserConnection(Connection[User]):
    pass


USERS_BY_NAME = CursorOrder("name", "str", attrgetter("name"))


@strawberry.type(description="A project a user belongs to, with their role there.")
class ProjectMembership:
    project: Annotated[Project, strawberry.lazy("schema.projects.types")] = strawberry.field(
        description="The project."
    )
    role: ProjectRole = strawberry.field(description="The user's role in it.")
