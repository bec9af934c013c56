"""The fields the compiler covers, listed: a field added to a covered type without a spec (or a spec
for a field that does not exist) is noticed here, and its operations keep running on the resolvers."""

from __future__ import annotations

from graphql import GraphQLObjectType

from schema.build import build_schema
from schema.engine.compiler.registry import QUERY_ROOTS, TYPES

CONNECTION = {"nodes", "edges", "pageInfo", "totalCount"}
EDGE = {"cursor", "node"}
COVERED = {
    "Task": {
        "id", "key", "number", "title", "description", "status", "priority", "position", "dueDate",
        "version", "createdAt", "updatedAt", "completedAt", "project", "assignee", "reporter", "labels",
        "commentCount", "parent", "subtasks", "comments", "activity", "attachments",
    },
    "TaskConnection": CONNECTION,
    "TaskEdge": EDGE,
    "Comment": {"id", "body", "createdAt", "updatedAt", "author"},
    "Attachment": {"id", "filename", "contentType", "sizeBytes", "sha256", "createdAt", "downloadUrl"},
    "CommentConnection": CONNECTION,
    "CommentEdge": EDGE,
    "ActivityEvent": {"id", "type", "sequence", "payload", "createdAt", "actor"},
    "ActivityEventConnection": CONNECTION,
    "ActivityEventEdge": EDGE,
    "PageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
    "Project": {
        "id", "key", "name", "description", "archived", "archivedAt", "createdAt", "updatedAt",
        "openTaskCount", "viewerRole", "labels", "members", "tasks",
    },
    "ProjectConnection": CONNECTION,
    "ProjectEdge": EDGE,
    "ProjectMember": {"user", "role"},
    "Label": {"id", "name", "color"},
    "User": {"id", "name", "email", "role", "deactivated", "createdAt", "projects", "assignedTasks"},
    "UserConnection": CONNECTION,
    "UserEdge": EDGE,
    "ProjectMembership": {"project", "role"},
    "Organization": {"id", "slug", "name", "createdAt"},
    "PushDevice": {"id", "platform", "createdAt", "lastSeenAt"},
    "Invitation": {"id", "email", "role", "expiresAt"},
    "ApiKey": {"id", "name", "prefix", "scope", "createdById", "expiresAt", "revokedAt", "createdAt"},
    "Webhook": {"id", "url", "eventTypes", "active", "description", "createdAt", "updatedAt"},
    "Notification": {"id", "kind", "createdAt", "readAt", "read", "task", "actor"},
    "WebhookDelivery": {
        "id", "deliveryId", "eventType", "eventId", "status", "attemptCount", "lastResponseCode",
        "createdAt", "updatedAt", "attempts",
    },
    "WebhookAttempt": {"number", "startedAt", "durationMs", "responseCode", "outcome", "error"},
    "Report": {
        "id", "kind", "status", "attempts", "error", "createdAt", "finishedAt", "project", "requestedBy",
    },
    "TrustedDocument": {"id", "documentId", "sha256", "name", "clientName", "operationType", "cost"},
    "Viewer": {"user", "organization", "assignedTasks", "projects"},
}  # fmt: skip

# Fields of covered types that run through the resolvers (an operation selecting one is not compiled).
UNCOVERED: dict[str, set[str]] = {
    "Viewer": {"pushDevices", "notifications"},
    "Webhook": {"deliveries"},
    "Notification": {"comment"},
    # Signed for the viewer at the moment they are read (resolvers/signed_links.py): no column's value.
    "Report": {"csvUrl", "htmlUrl", "signedCsvUrl", "signedHtmlUrl"},
    "TrustedDocument": {"engine", "uncoveredField"},
    "Attachment": {"signedDownloadUrl"},
}


def test_the_covered_fields() -> None:
    assert {name: set(spec.fields) for name, spec in TYPES.items()} == COVERED
    assert set(QUERY_ROOTS) == {
        "task", "taskByKey", "tasks", "searchTasks", "viewer", "project", "projects", "user", "users",
    }  # fmt: skip


def test_every_field_of_a_covered_type_is_covered_or_listed_as_not() -> None:
    schema = build_schema()._schema
    for type_name, covered in COVERED.items():
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        assert set(graphql_type.fields) == covered | UNCOVERED.get(type_name, set()), type_name
