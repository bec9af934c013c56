"""Login, token refresh and logout mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import auth as resolvers
from resolvers.auth import AuthResult
from resolvers.context import RequestContext
from resolvers.errors import Unauthenticated
from schema.core.payload_errors import MutationError, MutationInput
from schema.users.organizations import Organization
from schema.users.types import User

Ctx = Info[RequestContext, None]


@strawberry.input(description="What `authLogin` takes.")
class AuthLoginInput:
    email: str = strawberry.field(description="The account's email address.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="What `authRefresh` takes.")
class AuthRefreshInput:
    refresh_token: str = strawberry.field(description="The refresh token the last login or refresh returned.")


@strawberry.type(description="An expected failure of authLogin or authRefresh.")
class AuthError(MutationError):
    pass


@strawberry.type(description="A session's tokens, with the user and organization they act for.")
class AuthPayload:
    errors: list[AuthError] = strawberry.field(
        description="Always empty: a wrong login or refresh token is UNAUTHENTICATED, and too many "
        "attempts RATE_LIMITED, top-level errors as every authentication failure. Kept for the "
        "convention every mutation's payload follows.",
    )
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    access_token_expires_at: datetime = strawberry.field(
        description=("When the access token stops working (15 minutes by default): refresh before.")
    )
    refresh_token: str = strawberry.field(description="Single use: each refresh returns a new one.")
    viewer: User = strawberry.field(description="The signed-in user.")
    organization: Organization = strawberry.field(description="The user's organization.")

    @classmethod
    def from_result(cls, result: AuthResult) -> AuthPayload:
        return cls(
            errors=[],
            access_token=result.access_token,
            access_token_expires_at=result.access_token_expires_at,
            refresh_token=result.refresh_token,
            viewer=User.from_entry(result.principal.user),
            organization=Organization.from_entry(result.principal.organization),
        )


@strawberry.type(description="What `authLogout` answers.")
class AuthLogoutPayload:
    ok: bool = strawberry.field(description="True once the session is revoked.")


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Exchanges email and password for an access and a refresh token.")
    async def auth_login(
        self,
        info: Ctx,
        input: MutationInput[AuthLoginInput],  # noqa: A002
    ) -> AuthPayload:
        if len(input.email) > 320 or len(input.password) > 1024:
            raise Unauthenticated("invalid email or password")
        return AuthPayload.from_result(
            await resolvers.login(info.context, email=input.email, password=input.password)
        )

    @strawberry.mutation(description="Exchanges a refresh token for new tokens; the old one stops working.")
    async def auth_refresh(
        self,
        info: Ctx,
        input: MutationInput[AuthRefreshInput],  # noqa: A002
    ) -> AuthPayload:
        return AuthPayload.from_result(
            await resolvers.refresh(info.context, refresh_token=input.refresh_token)
        )

    @strawberry.mutation(description="Ends the current session at once; its tokens stop working.")
    async def auth_logout(self, info: Ctx) -> AuthLogoutPayload:
        return AuthLogoutPayload(ok=await resolvers.logout(info.context))
