"""Writes nobody is signed in for: a new organization with its owner (sign-up), and accepting an
invitation. Neither logs in: the client calls authLogin next, so one path issues sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from persistence.enums import OrgRole
from persistence.queries import user_writes as queries
from persistence.queries.records import user_record
from persistence.queries.rows import AnyRow
from persistence.records import UserRecord
from resolvers.context import RequestContext
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.user_mutations import check_email, check_name, check_password, token_hash
from resolvers.writes import PublicWrite, run_public_write

SLUG = re.compile(r"[a-z0-9-]{3,64}")
SLUG_TAKEN = ("uq_organizations_slug", "organizations.slug")
TOKEN_MAX = 128


@dataclass(frozen=True)
class CreatedOrganization(MutationResult):
    """The new organization as written (the payload reads nothing back)."""

    organization: dict[str, Any] | None = None


def _check_organization(slug: str, name: str, owner_name: str, email: str, password: str) -> list[FieldError]:
    errors = []
    if not SLUG.fullmatch(slug):
        message = "a slug has 3 to 64 lowercase letters, digits and dashes"
        errors.append(FieldError("slug", ErrorCode.INVALID, message))
    return (
        errors
        + check_name(name, "name")
        + check_name(owner_name, "ownerName")
        + check_email(email, "ownerEmail")
        + check_password(password, "password")
    )


async def create_organization(
    ctx: RequestContext, *, slug: str, name: str, owner_name: str, owner_email: str, password: str
) -> MutationResult:
    errors = _check_organization(slug, name, owner_name, owner_email, password)
    if errors:
        return MutationResult(None, errors)
    name, owner_name, email = name.strip(), owner_name.strip(), owner_email.strip().lower()
    password_hash = await ctx.services.passwords.hash(password)

    async def body(write: PublicWrite) -> MutationResult:
        organization_id = await queries.insert_organization(write.conn, slug=slug, name=name, now=write.now)
        owner_id = await queries.insert_user(
            write.conn,
            organization_id=organization_id,
            email=email,
            name=owner_name,
            password_hash=password_hash,
            role=OrgRole.OWNER,
            now=write.now,
        )
        payload = {"slug": slug, "owner_id": owner_id}
        await write.record(
            "organization.created", organization_id=organization_id, actor_id=owner_id, payload=payload
        )
        organization = {
            "id": organization_id,
            "slug": slug,
            "name": name,
            "created_at": write.now.isoformat(),
        }
        return CreatedOrganization(organization_id, organization=organization)

    try:
        return await run_public_write(ctx, body)
    except IntegrityError as error:
        # The unique indexes decide, so two sign-ups racing for one slug cannot both win.
        if queries.violated(error, *SLUG_TAKEN):
            return MutationResult.failed("slug", ErrorCode.CONFLICT, "this slug is taken")
        if queries.violated(error, *queries.EMAIL_TAKEN):
            return MutationResult.failed(
                "ownerEmail", ErrorCode.CONFLICT, "this email has an account already"
            )
        raise


@dataclass(frozen=True)
class JoinedUser(MutationResult):
    """The user an invitation made, as written (a users row)."""

    row: AnyRow | None = None

    @property
    def user(self) -> UserRecord | None:
        return None if self.row is None else user_record(self.row)


async def accept_invitation(ctx: RequestContext, *, token: str, name: str, password: str) -> MutationResult:
    errors = check_name(name, "name") + check_password(password, "password")
    if len(token) > TOKEN_MAX:
        errors.append(FieldError("token", ErrorCode.NOT_FOUND, "unknown invitation"))
    if errors:
        return MutationResult(None, errors)
    hashed_token, name = token_hash(token), name.strip()
    password_hash = await ctx.services.passwords.hash(password)

    async def body(write: PublicWrite) -> MutationResult:
        if not await queries.accept_invitation(write.conn, hashed_token, write.now):
            return await _why_not_accepted(write, hashed_token)
        user = await queries.insert_invited_user(
            write.conn, hashed_token, name=name, password_hash=password_hash, now=write.now
        )
        payload = {"user_id": user.id, "role": str(user.role)}
        await write.record(
            "user.joined", organization_id=user.organization_id, actor_id=user.id, payload=payload
        )
        return JoinedUser(user.id, row=user)

    try:
        return await run_public_write(ctx, body)
    except IntegrityError as error:
        # The whole unit of work rolled back: the invitation stays unused.
        if queries.violated(error, *queries.EMAIL_TAKEN):
            return MutationResult.failed(
                "token", ErrorCode.CONFLICT, "the invited email has an account already"
            )
        raise


async def _why_not_accepted(write: PublicWrite, hashed_token: str) -> MutationResult:
    state = await queries.invitation_state(write.conn, hashed_token)
    if state is None:
        return MutationResult.failed("token", ErrorCode.NOT_FOUND, "unknown invitation")
    if state.accepted_at is not None:
        return MutationResult.failed("token", ErrorCode.INVALID, "this invitation was used already")
    expired: datetime = state.expires_at
    return MutationResult.failed(
        "token", ErrorCode.INVALID, f"this invitation expired at {expired.isoformat()}"
    )
