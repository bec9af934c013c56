"""``node(id:)`` and ``nodes(ids:)``: every type with a global id read back by its ids, one statement
per type at most whatever the number of ids, and only what the principal may see. What it may not see
is left out, exactly as what does not exist: the schema answers both NOT_FOUND.

Who sees what: tasks and what hangs off them (comments, attachments, activity events) and projects'
labels and reports as the tasks and projects are scoped; users and the organization of one's own
organization; notifications and push devices one's own; webhooks, their deliveries, API keys and
invitations the organization's owners and admins; trusted documents platform operators.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from persistence.queries import api_keys as api_key_queries
from persistence.queries import attachments as attachment_queries
from persistence.queries import comments as comment_queries
from persistence.queries import events as event_queries
from persistence.queries import invitations as invitation_queries
from persistence.queries import notifications as notification_queries
from persistence.queries import projects as project_queries
from persistence.queries import push_devices as push_device_queries
from persistence.queries import reports as report_queries
from persistence.queries import trusted_documents as document_queries
from persistence.queries import webhooks as webhook_queries
from persistence.queries.records import (
    activity_record,
    api_key_record,
    attachment_record,
    comment_record,
    invitation_record,
    joined_delivery_record,
    label_record,
    notification_record,
    project_record,
    push_device_record,
    report_record,
    task_record,
    user_record,
    webhook_record,
)
from persistence.values import NotificationIncludes, ProjectIncludes, TaskIncludes
from resolvers.context import RequestContext
from resolvers.trusted_documents import TrustedDocument

# At most this many ids in one ``nodes`` request (BAD_USER_INPUT beyond), as a page's size.
MAX_NODE_IDS = 100


@dataclass(frozen=True)
class NodeIncludes:
    """What the selection asks of the types whose reads join more on demand."""

    task: TaskIncludes
    project: ProjectIncludes
    notification: NotificationIncludes


Reader = Callable[[RequestContext, Sequence[int], NodeIncludes], Awaitable[Mapping[int, Any]]]


def _by_id(records: Sequence[Any]) -> dict[int, Any]:
    return {record.id: record for record in records}


async def _tasks(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    rows = await ctx.loaders.task_by_id(includes.task).load_many(ids)
    return {i: task_record(row, includes.task) for i, row in zip(ids, rows, strict=True) if row is not None}


async def _projects(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    rows = await ctx.loaders.project_by_id(includes.project).load_many(ids)
    return {
        i: project_record(row, includes.project) for i, row in zip(ids, rows, strict=True) if row is not None
    }


async def _users(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    rows = await ctx.loaders.user_by_id().load_many(ids)
    return {i: user_record(row) for i, row in zip(ids, rows, strict=True) if row is not None}


async def _organizations(
    ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes
) -> Mapping[int, Any]:
    """Only one's own organization, from the session (no statement)."""
    principal = ctx.require_principal()
    own = principal.organization_id
    return {own: principal.organization} if own in ids else {}


async def _comments(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    async with ctx.db.read() as conn:
        rows = await comment_queries.comments_by_ids(conn, ctx.require_principal().scope, ids)
    return _by_id([comment_record(row, with_author=True) for row in rows])


async def _labels(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    async with ctx.db.read() as conn:
        rows = await project_queries.labels_by_ids(conn, ctx.require_principal().scope, ids)
    return _by_id([label_record(row) for row in rows])


async def _attachments(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    async with ctx.db.read() as conn:
        rows = await attachment_queries.attachments_by_ids(conn, ctx.require_principal().scope, ids)
    return _by_id([attachment_record(row) for row in rows])


async def _events(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    async with ctx.db.read() as conn:
        rows = await event_queries.events_by_ids(conn, ctx.require_principal().scope, ids)
    return _by_id([activity_record(row) for row in rows])


async def _notifications(
    ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes
) -> Mapping[int, Any]:
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        rows = await notification_queries.own_notifications(conn, scope, ids, includes.notification)
    return _by_id([notification_record(row, includes.notification) for row in rows])


async def _reports(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    async with ctx.db.read() as conn:
        rows = await report_queries.reports_by_ids(conn, ctx.require_principal().scope, ids)
    return _by_id([report_record(row) for row in rows])


async def _push_devices(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    async with ctx.db.read() as conn:
        rows = await push_device_queries.devices_by_ids(conn, ctx.require_principal().user_id, ids)
    return _by_id([push_device_record(row) for row in rows])


async def _webhooks(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    principal = ctx.require_principal()
    if not principal.is_org_admin:
        return {}
    async with ctx.db.read() as conn:
        rows = await webhook_queries.endpoints_by_ids(conn, principal.organization_id, ids)
    return _by_id([webhook_record(row) for row in rows])


async def _deliveries(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    principal = ctx.require_principal()
    if not principal.is_org_admin:
        return {}
    async with ctx.db.read() as conn:
        found = await webhook_queries.deliveries_by_ids(conn, principal.organization_id, ids)
    return {delivery_id: joined_delivery_record(rows) for delivery_id, rows in found.items()}


async def _api_keys(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    principal = ctx.require_principal()
    if not principal.is_org_admin:
        return {}
    async with ctx.db.read() as conn:
        rows = await api_key_queries.keys_by_ids(conn, principal.organization_id, ids)
    return _by_id([api_key_record(row) for row in rows])


async def _invitations(ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes) -> Mapping[int, Any]:
    principal = ctx.require_principal()
    if not principal.is_org_admin:
        return {}
    async with ctx.db.read() as conn:
        rows = await invitation_queries.invitations_by_ids(conn, principal.organization_id, ids)
    return _by_id([invitation_record(row) for row in rows])


async def _trusted_documents(
    ctx: RequestContext, ids: Sequence[int], includes: NodeIncludes
) -> Mapping[int, Any]:
    if not ctx.require_principal().is_operator:
        return {}
    async with ctx.db.read() as conn:
        rows = await document_queries.by_ids(conn, ids)
    return _by_id([TrustedDocument.from_row(row) for row in rows])


# Every type a global id may name, with its reader.
READERS: dict[str, Reader] = {
    "Task": _tasks,
    "Project": _projects,
    "User": _users,
    "Organization": _organizations,
    "Comment": _comments,
    "Label": _labels,
    "Attachment": _attachments,
    "ActivityEvent": _events,
    "Notification": _notifications,
    "Report": _reports,
    "PushDevice": _push_devices,
    "Webhook": _webhooks,
    "WebhookDelivery": _deliveries,
    "ApiKey": _api_keys,
    "Invitation": _invitations,
    "TrustedDocument": _trusted_documents,
}


async def read_nodes(
    ctx: RequestContext, wanted: Mapping[str, Sequence[int]], includes: NodeIncludes
) -> dict[str, Mapping[int, Any]]:
    """By type, the records of the wanted ids the principal may see (an unknown type reads nothing)."""
    ctx.require_principal()
    found: dict[str, Mapping[int, Any]] = {}
    for type_name, ids in wanted.items():
        reader = READERS.get(type_name)
        found[type_name] = {} if reader is None else await reader(ctx, sorted(set(ids)), includes)
    return found
