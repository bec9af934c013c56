from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import projects as project_resolvers
from resolvers import push_devices as push_device_reads
from resolvers.context import RequestContext
from schema.core.connections import After, Before, First, Last
from schema.core.paging import ConnectionRequest
from schema.notifications.types import NotificationConnection, notification_connection
from schema.projects.types import PROJECTS_BY_NAME, Project, ProjectConnection, project_includes
from schema.tasks.types import TaskConnection, TaskFilterInput, TaskOrderInput, nested_task_connection
from schema.users.organizations import Organization
from schema.users.push_devices import PushDevice
from schema.users.types import User


@strawberry.type(description="The authenticated user's own view: who they are and their work.")
class Viewer:
    user: User = strawberry.field(description="Your user.")
    organization: Organization = strawberry.field(description="Your organization.")
    _user_id: strawberry.Private[int]

    @strawberry.field(description="Projects the viewer can see, by name.")
    async def projects(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        archived: Annotated[
            bool | None,
            strawberry.argument(
                description=("False (the default): active ones only; true: archived ones only; null: both.")
            ),
        ] = False,
    ) -> ProjectConnection:
        return await project_connection(info, first, after, last, before, archived)

    @strawberry.field(description="Tasks assigned to the viewer.")
    async def assigned_tasks(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[  # noqa: A002
            TaskFilterInput | None,
            strawberry.argument(description="Which of your tasks, as `tasks` filters."),
        ] = None,
        order_by: Annotated[
            TaskOrderInput | None, strawberry.argument(description="The order; newest first by default.")
        ] = None,
    ) -> TaskConnection:
        return await nested_task_connection(
            info, "assignee_id", self._user_id, first, after, last, before, filter, order_by
        )

    @strawberry.field(description="Your devices that receive push notifications, oldest first.")
    async def push_devices(self, info: Info[RequestContext, None]) -> list[PushDevice]:
        return [PushDevice.from_record(found) for found in await push_device_reads.devices(info.context)]

    @strawberry.field(description="Your notifications, newest first; `unreadOnly` keeps the unread ones.")
    async def notifications(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        unread_only: Annotated[bool, strawberry.argument(description="True lists unread ones only.")] = False,
    ) -> NotificationConnection:
        return await notification_connection(info, first, after, last, before, unread_only)


async def project_connection(
    info: Info[RequestContext, None],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    archived: bool | None,
) -> ProjectConnection:
    asked = ConnectionRequest(info, PROJECTS_BY_NAME, first=first, after=after, last=last, before=before)
    result, total = await project_resolvers.list_projects(
        info.context,
        asked.page,
        project_includes(asked.selection.node_names),
        archived=archived,
        with_total=asked.selection.wants_total,
    )
    return asked.connection(ProjectConnection, result, total, Project.from_record)
