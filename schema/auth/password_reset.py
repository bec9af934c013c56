"""passwordResetRequest and passwordResetConfirm (no sign-in needed)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import password_resets as resolvers
from resolvers.context import RequestContext
from schema.core.payload_errors import MutationError, MutationInput, errors_as

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `passwordResetRequest`.")
class PasswordResetRequestError(MutationError):
    pass


@strawberry.type(description="An expected failure of `passwordResetConfirm`.")
class PasswordResetConfirmError(MutationError):
    pass


@strawberry.type(description="What `passwordResetRequest` answers.")
class PasswordResetRequestPayload:
    accepted: bool = strawberry.field(
        description="True for every well-formed email, whether or not it has an account."
    )
    errors: list[PasswordResetRequestError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )


@strawberry.type(description="What `passwordResetConfirm` answers.")
class PasswordResetConfirmPayload:
    password_changed: bool = strawberry.field(description="True when the password was set.")
    errors: list[PasswordResetConfirmError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )


@strawberry.input(description="What `passwordResetRequest` takes.")
class PasswordResetRequestInput:
    email: str = strawberry.field(description="The account's email address.")


@strawberry.input(description="What `passwordResetConfirm` takes.")
class PasswordResetConfirmInput:
    token: str = strawberry.field(description="The token from the reset email.")
    new_password: str = strawberry.field(description="At least 10 characters.")


@strawberry.type
class PasswordResetMutation:
    @strawberry.mutation(
        description="Emails an active account with this address a reset token (single use, valid 1 hour). "
        "The answer is the same whether or not the address has an account. No sign-in needed."
    )
    async def password_reset_request(
        self,
        info: Ctx,
        input: MutationInput[PasswordResetRequestInput],  # noqa: A002
    ) -> PasswordResetRequestPayload:
        result = await resolvers.request_reset(info.context, input.email)
        errors = errors_as(PasswordResetRequestError, result)
        return PasswordResetRequestPayload(accepted=not errors, errors=errors)

    @strawberry.mutation(
        description="Sets a new password with a reset token; every session of the user ends at once. "
        "An unknown, used or expired token is INVALID on token. No sign-in needed."
    )
    async def password_reset_confirm(
        self,
        info: Ctx,
        input: MutationInput[PasswordResetConfirmInput],  # noqa: A002
    ) -> PasswordResetConfirmPayload:
        result = await resolvers.confirm_reset(info.context, input.token, input.new_password)
        errors = errors_as(PasswordResetConfirmError, result)
        return PasswordResetConfirmPayload(password_changed=not errors, errors=errors)
