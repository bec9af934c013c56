"""The Query root. Every field but the auth mutations needs a principal; every read is scoped."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import api_keys as api_key_resolvers
from resolvers import projects as project_resolvers
from resolvers import tasks as task_resolvers
from resolvers import users as user_resolvers
from resolvers import webhooks as webhook_resolvers
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.nodes import MAX_NODE_IDS
from schema import nodes as node_reads
from schema.auth.api_keys import ApiKey
from schema.core.connections import After, Before, First, Last
from schema.core.cursors import CursorOrder
from schema.core.ids import decode_id
from schema.core.node import Node
from schema.core.paging import ConnectionRequest
from schema.core.selection import child_names
from schema.projects.types import Project, ProjectConnection, project_includes
from schema.reports.types import Report, report_node
from schema.tasks.types import (
    SEARCH_ORDER,
    Task,
    TaskConnection,
    TaskFilterInput,
    TaskListArguments,
    TaskOrderInput,
    task_includes,
)
from schema.users.organizations import Organization
from schema.users.types import USERS_BY_NAME, User, UserConnection
from schema.viewer import Viewer, project_connection
from schema.webhooks.types import Webhook, webhook_node

Ctx = Info[RequestContext, None]


def _own_names(info: Ctx) -> set[str]:
    return child_names(info.selected_fields)


async def _task(info: Ctx, task_id: int) -> Task:
    includes = task_includes(_own_names(info))
    return Task.from_record(await task_resolvers.task(info.context, task_id, includes))


async def _project(info: Ctx, project_id: int) -> Project:
    found = await project_resolvers.project(info.context, project_id, project_includes(_own_names(info)))
    return Project.from_record(found)


async def _user(info: Ctx, user_id: int) -> User:
    return User.from_record(await user_resolvers.user(info.context, user_id))


@strawberry.type(
    description=(
        "What may be read. Everything but sign-in needs a principal and is scoped to its organization."
    )
)
class Query:
    @strawberry.field(
        description=(
            "You: your user, organization, projects, assigned tasks, notifications and push devices."
        )
    )
    def viewer(self, info: Ctx) -> Viewer:
        principal = info.context.require_principal()
        return Viewer(
            user=User.from_entry(principal.user),
            organization=Organization.from_entry(principal.organization),
            _user_id=principal.user_id,
        )

    @strawberry.field(
        description="Refetches any object by its global id: null and NOT_FOUND when it is unknown or "
        "hidden from you."
    )
    async def node(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="Any object's global id.")],  # noqa: A002
    ) -> Node | None:
        return await node_reads.node(info, id)

    @strawberry.field(
        description=f"Refetches up to {MAX_NODE_IDS} objects by their global ids, of any types, answered "
        "in the ids' order: each one unknown or hidden from you is null, with a NOT_FOUND error whose "
        "path ends at its position. More ids: BAD_USER_INPUT."
    )
    async def nodes(
        self,
        info: Ctx,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global ids of any types, at most 100.")
        ],
    ) -> list[Node | None]:
        # NotFound items become null with their error (see schema/nodes.py).
        found: list[Any] = await node_reads.nodes(info, ids)
        return found

    @strawberry.field(description="A project report, while its project is visible to the viewer.")
    async def report(
        self,
        info: Ctx,
        id: Annotated[  # noqa: A002
            strawberry.ID, strawberry.argument(description="The report's id (from `reportRequest`).")
        ],
    ) -> Report:
        return await report_node(info, decode_id(id, "Report"))

    @strawberry.field(description="The viewer's organization.")
    def organization(self, info: Ctx) -> Organization:
        return Organization.from_entry(info.context.require_principal().organization)

    @strawberry.field(description="The organization's webhooks, oldest first (owners and admins only).")
    async def webhooks(self, info: Ctx) -> list[Webhook]:
        return [Webhook.from_record(found) for found in await webhook_resolvers.endpoints(info.context)]

    @strawberry.field(description="One of the organization's webhooks (owners and admins only).")
    async def webhook(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="The webhook's id.")],  # noqa: A002
    ) -> Webhook:
        return await webhook_node(info, decode_id(id, "Webhook"))

    @strawberry.field(
        description="The organization's API keys, oldest first, revoked ones too (owners and admins only)."
    )
    async def api_keys(self, info: Ctx) -> list[ApiKey]:
        return [ApiKey.from_record(found) for found in await api_key_resolvers.list_api_keys(info.context)]

    @strawberry.field(description="The organization's users, by name.")
    async def users(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        include_deactivated: Annotated[
            bool, strawberry.argument(description="True lists deactivated users too.")
        ] = False,
    ) -> UserConnection:
        asked = ConnectionRequest(info, USERS_BY_NAME, first=first, after=after, last=last, before=before)
        result, total = await user_resolvers.list_users(
            info.context,
            asked.page,
            include_deactivated=include_deactivated,
            with_total=asked.selection.wants_total,
        )
        return asked.connection(UserConnection, result, total, User.from_record)

    @strawberry.field(description="A user of your organization; null and NOT_FOUND for anyone else.")
    async def user(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="The user's id.")],  # noqa: A002
    ) -> User | None:
        info.context.require_principal()
        return await _user(info, decode_id(id, "User"))

    @strawberry.field(description="Projects the viewer can see, by name.")
    async def projects(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        archived: Annotated[
            bool | None,
            strawberry.argument(description="True: archived ones only; false: active ones only; null: both."),
        ] = None,
    ) -> ProjectConnection:
        return await project_connection(info, first, after, last, before, archived)

    @strawberry.field(description="A project by global id or by key (like OPS); pass exactly one.")
    async def project(
        self,
        info: Ctx,
        id: Annotated[  # noqa: A002
            strawberry.ID | None, strawberry.argument(description="The project's global id.")
        ] = None,
        key: Annotated[
            str | None, strawberry.argument(description="The project's key, like OPS (case does not matter).")
        ] = None,
    ) -> Project | None:
        info.context.require_principal()
        if (id is None) == (key is None):
            raise BadUserInput("pass exactly one of `id` and `key`", argument="id")
        if id is not None:
            return await _project(info, decode_id(id, "Project"))
        found = await project_resolvers.project_by_key(
            info.context, str(key), project_includes(_own_names(info))
        )
        return Project.from_record(found)

    @strawberry.field(description="Tasks in projects the viewer can see.")
    async def tasks(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[  # noqa: A002
            TaskFilterInput | None,
            strawberry.argument(
                description=("Which tasks: by project, status, priority, assignee, label, due date, parent.")
            ),
        ] = None,
        order_by: Annotated[
            TaskOrderInput | None, strawberry.argument(description="The order; newest first by default.")
        ] = None,
    ) -> TaskConnection:
        info.context.require_principal()
        args = TaskListArguments(info, first, after, last, before, filter, order_by, direct=True)
        result, total = await task_resolvers.list_tasks(
            info.context,
            args.where,
            args.order,
            args.page,
            args.includes,
            with_total=args.selection.wants_total,
        )
        return args.connection(result, total)

    @strawberry.field(description="A task you can see; null and NOT_FOUND for any other.")
    async def task(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="The task's id.")],  # noqa: A002
    ) -> Task | None:
        info.context.require_principal()
        return await _task(info, decode_id(id, "Task"))

    @strawberry.field(description='A task by its key, like "OPS-42".')
    async def task_by_key(
        self,
        info: Ctx,
        key: Annotated[
            str, strawberry.argument(description="The task's key: its project's key, a dash and its number.")
        ],
    ) -> Task | None:
        info.context.require_principal()
        includes = task_includes(_own_names(info))
        return Task.from_record(await task_resolvers.task_by_key(info.context, key, includes))

    @strawberry.field(description="Full-text search over titles and descriptions, best match first.")
    async def search_tasks(
        self,
        info: Ctx,
        query: Annotated[
            str,
            strawberry.argument(
                description="The words to find (on MariaDB, words under 3 letters are ignored)."
            ),
        ],
        first: First = None,
        after: After = None,
        filter: Annotated[  # noqa: A002
            TaskFilterInput | None,
            strawberry.argument(description="Narrows the matches, as `tasks` filters."),
        ] = None,
    ) -> TaskConnection:
        info.context.require_principal()
        # Ranked results page by position: the cursor holds the offset of the row, known once it is read.
        # `after` is an offset, not a keyset bound of the page, so it is decoded apart (after `first`).
        positions: dict[int, int] = {}
        by_rank = CursorOrder(SEARCH_ORDER, "int", lambda row: positions[row.id])
        args = TaskListArguments(info, first, None, None, None, filter, None, direct=True, cursors=by_rank)
        start = by_rank.decode(after, argument="after")
        offset = 0 if start is None else start.value + 1
        result, total = await task_resolvers.search_tasks(
            info.context,
            query,
            args.where,
            offset,
            args.page.size,
            args.includes,
            with_total=args.selection.wants_total,
        )
        positions.update((row.id, offset + i) for i, row in enumerate(result.rows))
        return args.connection(result, total)
