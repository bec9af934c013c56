"""``node(id:)`` and ``nodes(ids:)`` on the resolvers: ids decoded and grouped by type, each type read
once (resolvers/nodes.py), the answers put back in the ids' order. An id unknown or hidden from the
viewer is null with NOT_FOUND at its own position (an exception in a list is graphql-core's way of
erroring one item: it completes as null with the error located at the item's path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import nodes as resolvers
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from schema.auth.api_keys import ApiKey
from schema.core.ids import decode_any_id
from schema.core.node import Node
from schema.core.selection import child_names
from schema.notifications.types import Notification
from schema.notifications.types import includes_of as notification_includes
from schema.ops.trusted_documents import TrustedDocument
from schema.projects.types import Label, Project, project_includes
from schema.reports.types import Report
from schema.tasks.types import ActivityEvent, Attachment, Comment, Task, task_includes
from schema.users.mutations import Invitation
from schema.users.organizations import Organization
from schema.users.push_devices import PushDevice
from schema.users.types import User
from schema.webhooks.types import Webhook, WebhookDelivery

Ctx = Info[RequestContext, None]

# Per type: how a record becomes the GraphQL object, and the word its NOT_FOUND names.
_BUILDERS: dict[str, tuple[Callable[[Any], Node], str]] = {
    "Task": (Task.from_record, "task"),
    "Project": (Project.from_record, "project"),
    "User": (User.from_record, "user"),
    "Organization": (Organization.from_entry, "organization"),
    "Comment": (Comment.from_record, "comment"),
    "Label": (Label.from_record, "label"),
    "Attachment": (Attachment.from_record, "attachment"),
    "ActivityEvent": (ActivityEvent.from_record, "activity event"),
    "Notification": (Notification.from_record, "notification"),
    "Report": (Report.from_record, "report"),
    "PushDevice": (PushDevice.from_record, "push device"),
    "Webhook": (Webhook.from_record, "webhook"),
    "WebhookDelivery": (WebhookDelivery.from_record, "webhook delivery"),
    "ApiKey": (ApiKey.from_record, "API key"),
    "Invitation": (Invitation.from_record, "invitation"),
    "TrustedDocument": (lambda document: TrustedDocument.of(document, None), "trusted document"),
}

# The concrete types node(id:) may return: the schema must know them all.
NODE_TYPES: tuple[type, ...] = (
    Task,
    Project,
    User,
    Organization,
    Comment,
    Label,
    Attachment,
    ActivityEvent,
    Notification,
    Report,
    PushDevice,
    Webhook,
    WebhookDelivery,
    ApiKey,
    Invitation,
    TrustedDocument,
)


def _includes(info: Ctx) -> resolvers.NodeIncludes:
    names = child_names(info.selected_fields)
    return resolvers.NodeIncludes(
        task=task_includes(names), project=project_includes(names), notification=notification_includes(names)
    )


async def read(info: Ctx, global_ids: list[strawberry.ID], *, argument: str) -> list[Node | Exception]:
    """The objects in the ids' order; a NotFound in place of each one unknown or hidden."""
    info.context.require_principal()  # UNAUTHENTICATED before any id is judged
    decoded = [decode_any_id(global_id, argument=argument) for global_id in global_ids]
    wanted: dict[str, list[int]] = {}
    for type_name, database_id in decoded:
        wanted.setdefault(type_name, []).append(database_id)
    found = await resolvers.read_nodes(info.context, wanted, _includes(info))
    answers: list[Node | Exception] = []
    for type_name, database_id in decoded:
        record = found.get(type_name, {}).get(database_id)
        builder, kind = _BUILDERS.get(type_name, (None, "node"))
        answers.append(NotFound(kind) if record is None or builder is None else builder(record))
    return answers


async def node(info: Ctx, global_id: strawberry.ID) -> Node:
    (answer,) = await read(info, [global_id], argument="id")
    if isinstance(answer, Exception):
        raise answer
    return answer


async def nodes(info: Ctx, global_ids: list[strawberry.ID]) -> list[Node | Exception]:
    if len(global_ids) > resolvers.MAX_NODE_IDS:
        raise BadUserInput(f"`ids` takes at most {resolvers.MAX_NODE_IDS} ids", argument="ids")
    return await read(info, global_ids, argument="ids")
