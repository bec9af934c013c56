"""Report's fields as the compiled reads plan them (node(id:) and nodes(ids:) only; see
schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, ToOne, TypeSpec

# A report of a project the viewer sees. Its download links run on the resolvers.
REPORT = TypeSpec(
    "reports",
    {
        "id": GlobalId("Report"),
        "kind": Column("kind", "enum"),
        "status": Column("status", "enum"),
        "attempts": Column("attempts", "int"),
        "error": Column("error", "text"),
        "createdAt": Column("created_at", "datetime"),
        "finishedAt": Column("finished_at", "datetime"),
        # The row is read only when its project is visible: the project and requester come as joined.
        "project": ToOne("projects", "project_id", same_organization=False),
        "requestedBy": ToOne("users", "requested_by", same_organization=False),
    },
)
