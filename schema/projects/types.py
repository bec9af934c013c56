from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from persistence.records import LabelRecord, ProjectRecord
from persistence.values import ProjectIncludes
from resolvers import projects as resolvers
from resolvers.context import RequestContext
from schema.core.connections import After, Before, Connection, First, Last
from schema.core.cursors import CursorOrder
from schema.core.enums import ProjectRole
from schema.core.ids import encode_id
from schema.core.node import Node
from schema.users.types import User

if TYPE_CHECKING:
    from schema.tasks.types import TaskConnection, TaskFilterInput, TaskOrderInput

_NOT_READ: Any = object()


@strawberry.type(description="A project's label, put on its tasks.")
class Label(Node):
    name: str = strawberry.field(description="Unique in its project.")
    color: str = strawberry.field(description="A hex color, `#rrggbb`.")

    @classmethod
    def from_values(cls, label_id: int, name: str, color: str) -> Label:
        return cls(id=strawberry.ID(encode_id("Label", label_id)), name=name, color=color)

    @classmethod
    def from_record(cls, record: LabelRecord) -> Label:
        return cls.from_values(record.id, record.name, record.color)


@strawberry.type(description="A user of the project with their role there.")
class ProjectMember:
    user: User = strawberry.field(description="The member.")
    role: ProjectRole = strawberry.field(description="What they may do in the project.")


@strawberry.type(description=("A board of tasks with its members, labels and reports, in one organization."))
class Project(Node):
    key: str = strawberry.field(
        description=("Short upper-case code, unique in the organization; task keys start with it (OPS-42).")
    )
    name: str = strawberry.field(description="The project's name.")
    description: str = strawberry.field(description="Free text; may be empty.")
    archived: bool = strawberry.field(
        description=("Whether it is archived: its tasks stay readable, it leaves default lists.")
    )
    archived_at: datetime | None = strawberry.field(description="When it was archived; null if it is not.")
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    _db_id: strawberry.Private[int]
    # Read with the project when the query asked for them; otherwise loaded on demand.
    _open_task_count: strawberry.Private[Any]
    _viewer_role: strawberry.Private[Any]

    @classmethod
    def from_record(cls, record: ProjectRecord) -> Project:
        includes = record.includes
        return cls(
            id=strawberry.ID(encode_id("Project", record.id)),
            key=record.key,
            name=record.name,
            description=record.description,
            archived=record.archived_at is not None,
            archived_at=record.archived_at,
            created_at=record.created_at,
            updated_at=record.updated_at,
            _db_id=record.id,
            _open_task_count=record.open_task_count if includes.open_task_count else _NOT_READ,
            _viewer_role=record.viewer_role if includes.viewer_role else _NOT_READ,
        )

    @strawberry.field(description="Tasks not done or canceled.")
    async def open_task_count(self, info: Info[RequestContext, None]) -> int:
        if self._open_task_count is _NOT_READ:
            read = await resolvers.project(info.context, self._db_id, ProjectIncludes(open_task_count=True))
            return int(read.open_task_count or 0)
        return int(self._open_task_count)

    @strawberry.field(description="The viewer's role in this project; null when the viewer is not a member.")
    async def viewer_role(self, info: Info[RequestContext, None]) -> ProjectRole | None:
        if self._viewer_role is _NOT_READ:
            read = await resolvers.project(info.context, self._db_id, ProjectIncludes(viewer_role=True))
            return read.viewer_role
        role: ProjectRole | None = self._viewer_role
        return role

    @strawberry.field(description="Its labels, by name.")
    async def labels(self, info: Info[RequestContext, None]) -> list[Label]:
        return [Label.from_record(label) for label in await resolvers.labels(info.context, self._db_id)]

    @strawberry.field(description="Its members with their project roles, by name.")
    async def members(self, info: Info[RequestContext, None]) -> list[ProjectMember]:
        found = await resolvers.members(info.context, self._db_id)
        return [ProjectMember(user=User.from_record(m.user), role=m.role) for m in found]

    @strawberry.field(description="Its tasks (filtered and ordered like `tasks`).")
    async def tasks(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[  # noqa: A002
            Annotated[TaskFilterInput, strawberry.lazy("schema.tasks.types")] | None,
            strawberry.argument(
                description="Which tasks: by status, priority, assignee, label, due date, parent."
            ),
        ] = None,
        order_by: Annotated[
            Annotated[TaskOrderInput, strawberry.lazy("schema.tasks.types")] | None,
            strawberry.argument(description="The order; newest first by default."),
        ] = None,
    ) -> Annotated[TaskConnection, strawberry.lazy("schema.tasks.types")]:
        from schema.tasks.types import nested_task_connection  # noqa: PLC0415 - Task and Project refer to each other

        return await nested_task_connection(
            info, "project_id", self._db_id, first, after, last, before, filter, order_by
        )


@strawberry.type(description="A page of projects, by name.")
class ProjectConnection(Connection[Project]):
    pass


PROJECTS_BY_NAME = CursorOrder("name", "str", attrgetter("name"))


def project_includes(names: set[str]) -> ProjectIncludes:
    return ProjectIncludes(open_task_count="openTaskCount" in names, viewer_role="viewerRole" in names)
