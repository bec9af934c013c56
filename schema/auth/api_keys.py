"""ApiKey: what an organization's admins see of a key (never its secret)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from persistence.enums import ApiKeyScope
from persistence.queries.rows import AnyRow
from schema.core.ids import encode_id

strawberry.enum(
    ApiKeyScope,
    name="ApiKeyScope",
    description="READ: queries only. READ_WRITE: queries and mutations, as the key's creator may.",
)


@strawberry.type(description="A key third parties send as `X-Api-Key`; it acts as the user who made it.")
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The key's public part: `tq_<prefix>_...`.")
    scope: ApiKeyScope
    created_by_id: strawberry.ID = strawberry.field(description="The user the key acts as.")
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: AnyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(encode_id("ApiKey", row.id)),
            name=row.name,
            prefix=row.prefix,
            scope=ApiKeyScope(row.scope),
            created_by_id=strawberry.ID(encode_id("User", row.created_by_user_id)),
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            created_at=row.created_at,
        )
