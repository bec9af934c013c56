"""apiKeyCreate, apiKeyRevoke.

Owners and admins only (FORBIDDEN otherwise, and always through an API key for apiKeyCreate); a bad
name or an expiry not in the future is BAD_USER_INPUT; another organization's key is NOT_FOUND.

apiKeyCreateV2 and apiKeyRevokeV2 do the same in the schema's convention: those expected failures are
the payload's `errors` (INVALID on the input field, NOT_FOUND on `id`); FORBIDDEN stays top-level.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from persistence.enums import ApiKeyScope
from resolvers import api_keys as resolvers
from resolvers.context import RequestContext
from resolvers.mutations import outcome_of
from schema.auth.api_keys import ApiKey
from schema.core.ids import decode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as

Ctx = Info[RequestContext, None]


@strawberry.input(description="What `apiKeyCreate` and `apiKeyCreateV2` take.")
class ApiKeyCreateInput:
    name: str = strawberry.field(description=f"1 to {resolvers.MAX_NAME} characters, for people.")
    scope: ApiKeyScope = strawberry.field(description="READ (queries only) or READ_WRITE.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working; null: until revoked."
    )


@strawberry.input(description="What `apiKeyRevoke` and `apiKeyRevokeV2` take.")
class ApiKeyRevokeInput:
    id: strawberry.ID = strawberry.field(description="The key's id.")


@strawberry.type(description="What `apiKeyCreate` answers.")
class ApiKeyCreatePayload:
    api_key: ApiKey = strawberry.field(description="The new key's record (never its secret).")
    key: str = strawberry.field(description="The key to send as `X-Api-Key`: shown now, never again.")


@strawberry.type(description="What `apiKeyRevoke` answers.")
class ApiKeyRevokePayload:
    api_key: ApiKey = strawberry.field(description="The key, revoked.")


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        description="An API key acting as you; the payload shows it once.",
        deprecation_reason="Use `apiKeyCreateV2`: the same, with expected failures in the payload's "
        "`errors`.",
    )
    async def api_key_create(
        self,
        info: Ctx,
        input: MutationInput[ApiKeyCreateInput],  # noqa: A002
    ) -> ApiKeyCreatePayload:
        created = await resolvers.create_api_key(
            info.context, name=input.name, scope=ApiKeyScope(input.scope), expires_at=input.expires_at
        )
        return ApiKeyCreatePayload(api_key=ApiKey.from_record(created.api_key), key=created.key)

    @strawberry.mutation(
        description="Revokes an API key at once; revoking it again changes nothing.",
        deprecation_reason="Use `apiKeyRevokeV2`: the same, with expected failures in the payload's "
        "`errors`.",
    )
    async def api_key_revoke(
        self,
        info: Ctx,
        input: MutationInput[ApiKeyRevokeInput],  # noqa: A002
    ) -> ApiKeyRevokePayload:
        revoked = await resolvers.revoke_api_key(info.context, api_key_id=decode_id(input.id, "ApiKey"))
        return ApiKeyRevokePayload(api_key=ApiKey.from_record(revoked))


@strawberry.type(description="An expected failure of apiKeyCreateV2.")
class ApiKeyCreateV2Error(MutationError):
    pass


@strawberry.type(description="An expected failure of apiKeyRevokeV2.")
class ApiKeyRevokeV2Error(MutationError):
    pass


@strawberry.type(description="What apiKeyCreateV2 answers.")
class ApiKeyCreateV2Payload:
    errors: list[ApiKeyCreateV2Error] = strawberry.field(description="Empty when the key was made.")
    api_key: ApiKey | None = strawberry.field(description="The new key's record; null on errors.")
    key: str | None = strawberry.field(
        description="The key to send as `X-Api-Key`: shown now, never again; null on errors."
    )


@strawberry.type(description="What apiKeyRevokeV2 answers.")
class ApiKeyRevokeV2Payload:
    errors: list[ApiKeyRevokeV2Error] = strawberry.field(description="Empty when the key is revoked.")
    api_key: ApiKey | None = strawberry.field(description="The revoked key; null on errors.")


@strawberry.type
class ApiKeyPayloadMutation:
    @strawberry.mutation(description="An API key acting as you; the payload shows it once.")
    async def api_key_create_v2(
        self,
        info: Ctx,
        input: MutationInput[ApiKeyCreateInput],  # noqa: A002
    ) -> ApiKeyCreateV2Payload:
        outcome = await outcome_of(
            resolvers.create_api_key(
                info.context, name=input.name, scope=ApiKeyScope(input.scope), expires_at=input.expires_at
            ),
            missing_field=None,
        )
        created = outcome.value
        return ApiKeyCreateV2Payload(
            errors=errors_as(ApiKeyCreateV2Error, outcome),
            api_key=None if created is None else ApiKey.from_record(created.api_key),
            key=None if created is None else created.key,
        )

    @strawberry.mutation(description="Revokes an API key at once; revoking it again changes nothing.")
    async def api_key_revoke_v2(
        self,
        info: Ctx,
        input: MutationInput[ApiKeyRevokeInput],  # noqa: A002
    ) -> ApiKeyRevokeV2Payload:
        api_key_id = decode_id(input.id, "ApiKey", argument="input.id")
        outcome = await outcome_of(
            resolvers.revoke_api_key(info.context, api_key_id=api_key_id), missing_field="id"
        )
        revoked = outcome.value
        return ApiKeyRevokeV2Payload(
            errors=errors_as(ApiKeyRevokeV2Error, outcome),
            api_key=None if revoked is None else ApiKey.from_record(revoked),
        )
