"""apiKeyCreate, apiKeyRevoke.

Owners and admins only (FORBIDDEN otherwise, and always through an API key for apiKeyCreate); a bad
name or an expiry not in the future is BAD_USER_INPUT; another organization's key is NOT_FOUND.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from persistence.enums import ApiKeyScope
from resolvers import api_keys as resolvers
from resolvers.context import RequestContext
from schema.auth.api_keys import ApiKey
from schema.core.ids import decode_id

Ctx = Info[RequestContext, None]


@strawberry.input
class ApiKeyCreateInput:
    name: str = strawberry.field(description=f"1 to {resolvers.MAX_NAME} characters, for people.")
    scope: ApiKeyScope
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working; null: until revoked."
    )


@strawberry.input
class ApiKeyRevokeInput:
    id: strawberry.ID


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKey
    key: str = strawberry.field(description="The key to send as `X-Api-Key`: shown now, never again.")


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKey


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description="An API key acting as you; the payload shows it once.")
    async def api_key_create(self, info: Ctx, input: ApiKeyCreateInput) -> ApiKeyCreatePayload:  # noqa: A002
        created = await resolvers.create_api_key(
            info.context, name=input.name, scope=ApiKeyScope(input.scope), expires_at=input.expires_at
        )
        return ApiKeyCreatePayload(api_key=ApiKey.from_record(created.api_key), key=created.key)

    @strawberry.mutation(description="Revokes an API key at once; revoking it again changes nothing.")
    async def api_key_revoke(self, info: Ctx, input: ApiKeyRevokeInput) -> ApiKeyRevokePayload:  # noqa: A002
        revoked = await resolvers.revoke_api_key(info.context, api_key_id=decode_id(input.id, "ApiKey"))
        return ApiKeyRevokePayload(api_key=ApiKey.from_record(revoked))
