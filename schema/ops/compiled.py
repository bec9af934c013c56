"""TrustedDocument's fields as the compiled reads plan them (node(id:) and nodes(ids:) only; see
schema/tasks/compiled.py)."""

from __future__ import annotations

from persistence.compiled.spec import Column, GlobalId, TypeSpec

# A registered document, for platform operators. Its engine judgement (made at registration, null
# when read back) runs on the resolvers.
TRUSTED_DOCUMENT = TypeSpec(
    "trusted_documents",
    {
        "id": GlobalId("TrustedDocument"),
        "documentId": Column("document_id", "text"),
        "sha256": Column("sha256", "text"),
        "name": Column("name", "text"),
        "clientName": Column("client_name", "text"),
        "operationType": Column("operation_type", "text"),
        "cost": Column("cost", "int"),
    },
)
