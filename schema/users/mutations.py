"""organizationCreate, invitationAccept (no sign-in needed), userInvite, userDeactivate,
userRoleChange, userProfileUpdate, passwordChange."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from persistence.records import InvitationRecord
from resolvers import signup
from resolvers import user_mutations as resolvers
from resolvers import users as user_reads
from resolvers.context import RequestContext
from resolvers.mutations import MutationResult
from schema.core.enums import OrgRole
from schema.core.ids import decode_id, encode_id
from schema.core.node import Node
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.users.organizations import Organization
from schema.users.types import User

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `organizationCreate`.")
class OrganizationCreateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `invitationAccept`.")
class InvitationAcceptError(MutationError):
    pass


@strawberry.type(description="An expected failure of `userInvite`.")
class UserInviteError(MutationError):
    pass


@strawberry.type(description="An expected failure of `userDeactivate`.")
class UserDeactivateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `userRoleChange`.")
class UserRoleChangeError(MutationError):
    pass


@strawberry.type(description="An expected failure of `userProfileUpdate`.")
class UserProfileUpdateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `passwordChange`.")
class PasswordChangeError(MutationError):
    pass


@strawberry.type(description="An invitation to join the organization; accepting it creates the user.")
class Invitation(Node):
    email: str = strawberry.field(description="Who is invited.")
    role: OrgRole = strawberry.field(description="The role they join with.")
    expires_at: datetime = strawberry.field(description="After this it admits nobody.")

    @classmethod
    def from_record(cls, record: InvitationRecord) -> Invitation:
        return cls(
            id=strawberry.ID(encode_id("Invitation", record.id)),
            email=record.email,
            role=record.role,
            expires_at=record.expires_at,
        )


async def _user(info: Ctx, result: MutationResult) -> User | None:
    """The user as the write read it back, or (on a replay) as a reader sees it now."""
    if result.errors or result.object_id is None:
        return None
    written = result.user if isinstance(result, resolvers.WrittenUser) else None
    found = written or await user_reads.user_or_none(info.context, result.object_id)
    return None if found is None else User.from_record(found)


@strawberry.type(description="What `organizationCreate` answers.")
class OrganizationCreatePayload:
    errors: list[OrganizationCreateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The new organization; its owner signs in with authLogin next.")
    def organization(self) -> Organization | None:
        if isinstance(self._result, signup.CreatedOrganization) and self._result.organization:
            return Organization.from_entry(self._result.organization)
        return None


@strawberry.type(description="What `invitationAccept` answers.")
class InvitationAcceptPayload:
    errors: list[InvitationAcceptError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The new user; they sign in with authLogin next.")
    def user(self) -> User | None:
        joined = self._result.user if isinstance(self._result, signup.JoinedUser) else None
        return None if joined is None else User.from_record(joined)


@strawberry.type(description="What `userInvite` answers.")
class UserInvitePayload:
    errors: list[UserInviteError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The new invitation; null on errors.")
    def invitation(self) -> Invitation | None:
        result = self._result
        if not isinstance(result, resolvers.Invited):
            return None
        invitation_id, expires_at = result.object_id, result.expires_at
        if invitation_id is None or expires_at is None:
            return None
        return Invitation(
            id=strawberry.ID(encode_id("Invitation", invitation_id)),
            email=result.email,
            role=result.role,
            expires_at=expires_at,
        )

    @strawberry.field(
        description="The secret the invitee accepts with, shown this once (only its hash is stored). "
        "Null on a replay whose first answer has expired."
    )
    def token(self) -> str | None:
        return self._result.token if isinstance(self._result, resolvers.Invited) else None


@strawberry.type(description="What `userDeactivate` answers.")
class UserDeactivatePayload:
    errors: list[UserDeactivateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The user as deactivated; null on errors.")
    async def user(self, info: Ctx) -> User | None:
        return await _user(info, self._result)


@strawberry.type(description="What `userRoleChange` answers.")
class UserRoleChangePayload:
    errors: list[UserRoleChangeError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The user as changed; null on errors.")
    async def user(self, info: Ctx) -> User | None:
        return await _user(info, self._result)


@strawberry.type(description="What `userProfileUpdate` answers.")
class UserProfileUpdatePayload:
    errors: list[UserProfileUpdateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="You, after the change; null on errors.")
    async def user(self, info: Ctx) -> User | None:
        return await _user(info, self._result)


@strawberry.type(description="What `passwordChange` answers.")
class PasswordChangePayload:
    errors: list[PasswordChangeError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="You, after the change; null on errors.")
    async def user(self, info: Ctx) -> User | None:
        return await _user(info, self._result)


@strawberry.input(description="What `organizationCreate` takes.")
class OrganizationCreateInput:
    slug: str = strawberry.field(description="3 to 64 lowercase letters, digits and dashes; unique.")
    name: str = strawberry.field(description="The organization's name.")
    owner_name: str = strawberry.field(description="The owner's display name.")
    owner_email: str = strawberry.field(description="The owner's email address; they sign in with it.")
    password: str = strawberry.field(description="At least 10 characters.")


@strawberry.input(description="What `invitationAccept` takes.")
class InvitationAcceptInput:
    token: str = strawberry.field(
        description="The token from the invitation (its email, or `userInvite`'s answer)."
    )
    name: str = strawberry.field(description="The new user's display name.")
    password: str = strawberry.field(description="At least 10 characters.")


@strawberry.input(description="What `userInvite` takes.")
class UserInviteInput:
    email: str = strawberry.field(description="Who to invite.")
    role: OrgRole = strawberry.field(description="The role they will join with.")


@strawberry.input(description="What `userDeactivate` takes.")
class UserDeactivateInput:
    id: strawberry.ID = strawberry.field(description="The user's id.")


@strawberry.input(description="What `userRoleChange` takes.")
class UserRoleChangeInput:
    id: strawberry.ID = strawberry.field(description="The user's id.")
    role: OrgRole = strawberry.field(description="Their new role in the organization.")


@strawberry.input(description="What `userProfileUpdate` takes.")
class UserProfileUpdateInput:
    name: str = strawberry.field(description="Your new display name.")


@strawberry.input(description="What `passwordChange` takes.")
class PasswordChangeInput:
    current_password: str = strawberry.field(description="Your password now, checked first.")
    new_password: str = strawberry.field(description="At least 10 characters.")


@strawberry.type
class UserMutation:
    @strawberry.mutation(description="Sign-up: a new organization and its owner. No sign-in needed.")
    async def organization_create(
        self,
        info: Ctx,
        input: MutationInput[OrganizationCreateInput],  # noqa: A002
    ) -> OrganizationCreatePayload:
        result = await signup.create_organization(
            info.context,
            slug=input.slug,
            name=input.name,
            owner_name=input.owner_name,
            owner_email=input.owner_email,
            password=input.password,
        )
        return OrganizationCreatePayload(errors=errors_as(OrganizationCreateError, result), _result=result)

    @strawberry.mutation(description="Joins the invitation's organization with its role. Single use.")
    async def invitation_accept(
        self,
        info: Ctx,
        input: MutationInput[InvitationAcceptInput],  # noqa: A002
    ) -> InvitationAcceptPayload:
        result = await signup.accept_invitation(
            info.context, token=input.token, name=input.name, password=input.password
        )
        return InvitationAcceptPayload(errors=errors_as(InvitationAcceptError, result), _result=result)

    @strawberry.mutation(description="Organization owners and admins; only owners invite owners.")
    async def user_invite(
        self,
        info: Ctx,
        input: MutationInput[UserInviteInput],  # noqa: A002
    ) -> UserInvitePayload:
        info.context.require_principal()
        result = await resolvers.invite_user(info.context, input.email, OrgRole(input.role))
        return UserInvitePayload(errors=errors_as(UserInviteError, result), _result=result)

    @strawberry.mutation(
        description="Organization owners and admins; not oneself, never the last owner. "
        "The user's sessions end at once."
    )
    async def user_deactivate(
        self,
        info: Ctx,
        input: MutationInput[UserDeactivateInput],  # noqa: A002
    ) -> UserDeactivatePayload:
        info.context.require_principal()
        user_id = decode_id(input.id, "User", argument="input.id")
        result = await resolvers.deactivate_user(info.context, user_id)
        return UserDeactivatePayload(errors=errors_as(UserDeactivateError, result), _result=result)

    @strawberry.mutation(
        description="Organization owners and admins; only owners touch owners, never the last owner."
    )
    async def user_role_change(
        self,
        info: Ctx,
        input: MutationInput[UserRoleChangeInput],  # noqa: A002
    ) -> UserRoleChangePayload:
        info.context.require_principal()
        user_id = decode_id(input.id, "User", argument="input.id")
        result = await resolvers.change_role(info.context, user_id, OrgRole(input.role))
        return UserRoleChangePayload(errors=errors_as(UserRoleChangeError, result), _result=result)

    @strawberry.mutation(description="The viewer's own profile.")
    async def user_profile_update(
        self,
        info: Ctx,
        input: MutationInput[UserProfileUpdateInput],  # noqa: A002
    ) -> UserProfileUpdatePayload:
        info.context.require_principal()
        result = await resolvers.update_profile(info.context, input.name)
        return UserProfileUpdatePayload(errors=errors_as(UserProfileUpdateError, result), _result=result)

    @strawberry.mutation(description="The viewer's own password; their other sessions end at once.")
    async def password_change(
        self,
        info: Ctx,
        input: MutationInput[PasswordChangeInput],  # noqa: A002
    ) -> PasswordChangePayload:
        info.context.require_principal()
        result = await resolvers.change_password(info.context, input.current_password, input.new_password)
        return PasswordChangePayload(errors=errors_as(PasswordChangeError, result), _result=result)
