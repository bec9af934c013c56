"""Which GraphQL fields the compiler covers: the domain packages' registries, by type name, and the
readers of their connections' arguments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from persistence.compiled.lists import ListArguments
from persistence.compiled.spec import (
    ById,
    Connection,
    PageInfoField,
    RootSpec,
    SameRow,
    ToOne,
    TypeSpec,
    ViewerRow,
)
from persistence.settings import Settings
from schema.auth import compiled as auth
from schema.notifications import compiled as notifications
from schema.ops import compiled as ops
from schema.projects import compiled as projects
from schema.reports import compiled as reports
from schema.tasks import compiled as tasks
from schema.users import compiled as users
from schema.webhooks import compiled as webhooks

PAGE_INFO = TypeSpec(
    None,
    {
        "hasNextPage": PageInfoField("hasNextPage"),
        "hasPreviousPage": PageInfoField("hasPreviousPage"),
        "startCursor": PageInfoField("startCursor"),
        "endCursor": PageInfoField("endCursor"),
    },
)

# The viewer's own view: its user row, and what hangs off it.
VIEWER = TypeSpec(
    "users",
    {
        "user": SameRow(),
        "organization": ToOne("organizations", "organization_id", same_organization=False),
        "assignedTasks": Connection("tasks", "tasks", "tasks", parent_column="assignee_id"),
        # The projects the viewer sees, as Query.projects lists them (only active ones by default).
        "projects": Connection("projects", "projects", "projects"),
    },
)

TYPES: dict[str, TypeSpec] = {
    "Viewer": VIEWER,
    "Task": tasks.TASK,
    "TaskConnection": tasks.CONNECTION,
    "TaskEdge": tasks.EDGE,
    "Comment": tasks.COMMENT,
    "Attachment": tasks.ATTACHMENT,
    "CommentConnection": tasks.CONNECTION,
    "CommentEdge": tasks.EDGE,
    "ActivityEvent": tasks.ACTIVITY_EVENT,
    "ActivityEventConnection": tasks.CONNECTION,
    "ActivityEventEdge": tasks.EDGE,
    "PageInfo": PAGE_INFO,
    "Project": projects.PROJECT,
    "Label": projects.LABEL,
    "User": users.USER,
    "ProjectMember": projects.PROJECT_MEMBER,
    "ProjectConnection": tasks.CONNECTION,
    "ProjectEdge": tasks.EDGE,
    "ProjectMembership": users.PROJECT_MEMBERSHIP,
    "UserConnection": tasks.CONNECTION,
    "UserEdge": tasks.EDGE,
    "Organization": users.ORGANIZATION,
    "PushDevice": users.PUSH_DEVICE,
    "Invitation": users.INVITATION,
    "ApiKey": auth.API_KEY,
    "Webhook": webhooks.WEBHOOK,
    "Notification": notifications.NOTIFICATION,
    "WebhookDelivery": webhooks.WEBHOOK_DELIVERY,
    "WebhookAttempt": webhooks.WEBHOOK_ATTEMPT,
    "Report": reports.REPORT,
    "TrustedDocument": ops.TRUSTED_DOCUMENT,
}

QUERY_ROOTS: dict[str, RootSpec] = {**tasks.ROOTS, **projects.ROOTS, **users.ROOTS, "viewer": ViewerRow()}

# The types ``node(id:)`` answers on the compiled engine, each read as its by-id root reads it.
NODE_TYPES: dict[str, ById] = {
    "Task": tasks.TASK_BY_ID,
    "Project": projects.PROJECT_BY_ID,
    "User": users.USER_BY_ID,
    # Only the viewer's own organization (NOT_FOUND "organization" for another's id, as the resolvers).
    "Organization": ById("organizations", "Organization", "id", "organization", tenancy="own_organization"),
    # What hangs off a task or a project, read as resolvers/nodes.py reads it: a live comment, an
    # attachment or an activity event of a task the viewer sees, a label of a project it sees.
    "Comment": ById("comments", "Comment", "id", "comment", tenancy="task_rows", live_column="deleted_at"),
    "Attachment": ById("attachments", "Attachment", "id", "attachment", tenancy="task_rows"),
    "ActivityEvent": ById("events", "ActivityEvent", "id", "activity event", tenancy="task_rows"),
    "Label": ById("labels", "Label", "id", "label", tenancy="project_rows"),
    # The viewer's own push devices; API keys and invitations for owners and admins only.
    "PushDevice": ById("push_devices", "PushDevice", "id", "push device", tenancy="own_rows"),
    "Invitation": ById("invitations", "Invitation", "id", "invitation", tenancy="admin_rows"),
    "ApiKey": ById("api_keys", "ApiKey", "id", "API key", tenancy="admin_rows"),
    "Notification": ById("notifications", "Notification", "id", "notification", tenancy="own_rows"),
    "WebhookDelivery": ById(
        "webhook_deliveries", "WebhookDelivery", "id", "webhook delivery", tenancy="endpoint_rows"
    ),
    "Report": ById("reports", "Report", "id", "report", tenancy="project_rows"),
    "TrustedDocument": ById(
        "trusted_documents", "TrustedDocument", "id", "trusted document", tenancy="operators"
    ),
    "Webhook": ById(
        "webhook_endpoints", "Webhook", "id", "webhook", tenancy="admin_rows", live_column="deleted_at"
    ),
}

BINDERS: dict[str, Callable[[Mapping[str, Any], Settings], ListArguments]] = {
    **tasks.BINDERS,
    **projects.BINDERS,
    **users.BINDERS,
}
