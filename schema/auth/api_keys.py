"""ApiKey: what an organization's admins see of a key (never its secret)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from persistence.enums import ApiKeyScope
from persistence.records import ApiKeyRecord
from schema.core.described import graphql_enum
from schema.core.ids import encode_id
from schema.core.node import Node

graphql_enum(
    ApiKeyScope,
    name="ApiKeyScope",
    description="READ: queries only. READ_WRITE: queries and mutations, as the key's creator may.",
    values={
        "READ": "Queries only: a mutation is FORBIDDEN (HTTP 403).",
        "READ_WRITE": "Queries and mutations, as the key's creator may.",
    },
)


@strawberry.type(description="A key third parties send as `X-Api-Key`; it acts as the user who made it.")
class ApiKey(Node):
    name: str = strawberry.field(description="What it is for, for people.")
    prefix: str = strawberry.field(description="The key's public part: `tq_<prefix>_...`.")
    scope: ApiKeyScope = strawberry.field(
        description="What it may do: READ runs queries only, READ_WRITE mutations too."
    )
    created_by_id: strawberry.ID = strawberry.field(description="The user the key acts as.")
    expires_at: datetime | None = strawberry.field(description="When it stops working; null: until revoked.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null while it works.")
    created_at: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def from_record(cls, record: ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(encode_id("ApiKey", record.id)),
            name=record.name,
            prefix=record.prefix,
            scope=record.scope,
            created_by_id=strawberry.ID(encode_id("User", record.created_by_user_id)),
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
            created_at=record.created_at,
        )
