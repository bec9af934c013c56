"""User writes by a signed-in principal: invite, deactivate, change a role, update one's profile,
change one's password. Each checks permission and validity inside its one write statement; only
when nothing changed does a second read say why. A write that changes what a session carries (the
user's role, name, or the session's life) replaces the user's cached sessions after the commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs.enqueue import INVITATION_EMAIL
from jobs.invitations import invitation_token
from persistence.enums import OrgRole
from persistence.models.base import utcnow
from persistence.queries import user_writes as queries
from persistence.queries.records import user_record
from persistence.queries.rows import AnyRow
from persistence.queries.user_writes import InvitationDraft
from persistence.records import UserRecord
from resolvers.api_keys import forget_cached_keys_of
from resolvers.auth import overwrite_cached_sessions
from resolvers.context import RequestContext
from resolvers.errors import Forbidden, Unauthenticated
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.writes import Write, run_write

NAME_MAX = 200
EMAIL_MAX = 320
PASSWORD_MIN = 10
# Above this a password is refused before hashing: argon2 of a megabyte is a cheap denial of service.
PASSWORD_MAX = 1024
INVITATION_TTL = timedelta(days=7)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_name(name: str, field_name: str) -> list[FieldError]:
    if not 0 < len(name.strip()) <= NAME_MAX:
        return [FieldError(field_name, ErrorCode.INVALID, f"a name has 1 to {NAME_MAX} characters")]
    return []


def check_email(email: str, field_name: str) -> list[FieldError]:
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email.strip()):
        return [FieldError(field_name, ErrorCode.INVALID, "not an email address")]
    return []


def check_password(password: str, field_name: str) -> list[FieldError]:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        message = f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        return [FieldError(field_name, ErrorCode.INVALID, message)]
    return []


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class WrittenUser(MutationResult):
    """The changed user's id and, when the write read them back anyway, the user's rows (one per
    session, labelled ``user_*``), so the payload costs no further statement."""

    rows: Sequence[AnyRow] = ()

    @property
    def user(self) -> UserRecord | None:
        return user_record(self.rows[0], "user_") if self.rows else None


def _replayed_user(event: AnyRow) -> MutationResult:
    return MutationResult(int(event.payload["user_id"]))


# --- userInvite ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invited(MutationResult):
    """The invitation (``object_id``) and its token, which is shown this once (only its hash is
    stored); a replay whose first answer is gone gets the invitation without it."""

    email: str = ""
    role: OrgRole = OrgRole.MEMBER
    expires_at: datetime | None = None
    token: str | None = None


def _replayed_invitation(event: AnyRow) -> MutationResult:
    payload = event.payload
    expires_at = datetime.fromisoformat(payload["expires_at"])
    return Invited(
        payload["invitation_id"], email=payload["email"], role=OrgRole(payload["role"]), expires_at=expires_at
    )


async def invite_user(ctx: RequestContext, email: str, role: OrgRole) -> MutationResult:
    errors = check_email(email, "email")
    if errors:
        return MutationResult(None, errors)
    scope = ctx.require_principal().scope
    email = email.strip().lower()
    nonce = secrets.token_hex(16)
    token = invitation_token(ctx.settings.jwt_secret, nonce)

    async def body(write: Write) -> MutationResult:
        draft = InvitationDraft(email, role, token_hash(token), nonce, write.now + INVITATION_TTL)
        invitation_id = await queries.insert_invitation(write.conn, scope, draft, write.now)
        if invitation_id is None:
            state = await queries.invite_state(write.conn, scope, draft)
            if not state.may_invite:
                raise Forbidden("only organization owners and admins invite, and only owners invite owners")
            return MutationResult.failed("email", ErrorCode.CONFLICT, "this email has an account already")
        payload = {
            "invitation_id": invitation_id,
            "email": email,
            "role": role.value,
            "expires_at": draft.expires_at.isoformat(),
        }
        await write.record("user.invited", project_id=None, payload=payload)
        return Invited(invitation_id, email=email, role=role, expires_at=draft.expires_at, token=token)

    result = await run_write(ctx, body, on_replay=_replayed_invitation)
    if isinstance(result, Invited) and result.object_id is not None:
        # After the commit; a replay schedules it again, which its deterministic job id refuses.
        ctx.services.emails.schedule(INVITATION_EMAIL, result.object_id)
    return result


# --- userDeactivate, userRoleChange ------------------------------------------------------------------


async def _why_not_managed(
    write: Write, user_id: int, *, new_role: OrgRole | None, deactivating: bool
) -> MutationResult:
    scope = write.principal.scope
    state = await queries.user_write_state(write.conn, scope, user_id)
    if state is None:
        return MutationResult.failed("id", ErrorCode.NOT_FOUND, "user not found")
    if state.actor_role not in queries.ORG_ADMINS:
        raise Forbidden("only organization owners and admins manage users")
    if OrgRole.OWNER in (state.role, new_role) and state.actor_role is not OrgRole.OWNER:
        raise Forbidden("only an owner may change an owner's role or make an owner")
    if deactivating and user_id == scope.user_id:
        return MutationResult.failed("id", ErrorCode.INVALID, "you cannot deactivate yourself")
    if state.deactivated:
        return MutationResult.failed("id", ErrorCode.INVALID, "the user is deactivated")
    if state.role is OrgRole.OWNER and not state.another_active_owner:
        return MutationResult.failed("id", ErrorCode.CONFLICT, "the organization needs another owner first")
    return MutationResult.failed("id", ErrorCode.CONFLICT, "the user changed meanwhile; try again")


async def deactivate_user(ctx: RequestContext, user_id: int) -> MutationResult:
    """The user's sessions are revoked in the same write and their cached copies replaced right
    after the commit, so every token of theirs stops working at once."""
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        if not await queries.deactivate_user(write.conn, scope, user_id, write.now):
            return await _why_not_managed(write, user_id, new_role=None, deactivating=True)
        rows = await queries.user_with_sessions(write.conn, scope, user_id, write.now)
        await write.record("user.deactivated", project_id=None, payload={"user_id": user_id})
        return WrittenUser(user_id, rows=rows)

    return await _refreshing_sessions(ctx, await run_write(ctx, body, on_replay=_replayed_user))


async def change_role(ctx: RequestContext, user_id: int, role: OrgRole) -> MutationResult:
    """The user's cached sessions carry the new role from the next request on."""
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        if not await queries.change_role(write.conn, scope, user_id, role, write.now):
            return await _why_not_managed(write, user_id, new_role=role, deactivating=False)
        rows = await queries.user_with_sessions(write.conn, scope, user_id, write.now)
        payload = {"user_id": user_id, "role": role.value}
        await write.record("user.role_changed", project_id=None, payload=payload)
        return WrittenUser(user_id, rows=rows)

    return await _refreshing_sessions(ctx, await run_write(ctx, body, on_replay=_replayed_user))


async def _refreshing_sessions(ctx: RequestContext, result: MutationResult) -> MutationResult:
    if isinstance(result, WrittenUser):
        await overwrite_cached_sessions(ctx.services, result.rows)
        if result.object_id is not None:
            await forget_cached_keys_of(ctx.services, result.object_id)
    return result


# --- userProfileUpdate, passwordChange ---------------------------------------------------------------


async def update_profile(ctx: RequestContext, name: str) -> MutationResult:
    errors = check_name(name, "name")
    principal = ctx.require_principal()
    if errors:
        return MutationResult(principal.user_id, errors)
    scope, name = principal.scope, name.strip()

    async def body(write: Write) -> MutationResult:
        if not await queries.update_profile(write.conn, scope, name, write.now):
            raise Unauthenticated("account deactivated")
        rows = await queries.user_with_sessions(write.conn, scope, scope.user_id, write.now)
        payload = {"user_id": scope.user_id, "changes": {"name": name}}
        await write.record("user.updated", project_id=None, payload=payload)
        return WrittenUser(scope.user_id, rows=rows)

    return await _refreshing_sessions(ctx, await run_write(ctx, body, on_replay=_replayed_user))


async def change_password(ctx: RequestContext, current: str, new: str) -> MutationResult:
    """Ends every other session of the user; the one making the change stays signed in. Not through
    an API key: a key acts for its user, it does not hold their credentials."""
    principal = ctx.require_principal()
    if principal.is_api_key:
        raise Forbidden("an API key cannot change a password; sign in")
    errors = check_password(new, "newPassword")
    if len(current) > PASSWORD_MAX:
        errors.append(FieldError("currentPassword", ErrorCode.INVALID, "wrong password"))
    if errors:
        return MutationResult(principal.user_id, errors)
    scope = principal.scope
    # Read, verified and hashed before the unit of work: two argon2 runs must not hold it open.
    async with ctx.db.read() as conn:
        rows = await queries.user_with_sessions(
            conn,
            scope,
            scope.user_id,
            utcnow(),
            except_session=principal.session_id,
            with_password_hash=True,
        )
    if not rows:
        raise Unauthenticated("account deactivated")
    old_hash = rows[0].password_hash
    passwords = ctx.services.passwords
    if not await passwords.verify(old_hash, current):
        wrong = MutationResult.failed("currentPassword", ErrorCode.INVALID, "wrong password")
        return await _refused(ctx, wrong) if ctx.idempotency is not None else wrong
    new_hash = await passwords.hash(new)
    others = [row.session_id for row in rows if row.session_id is not None]
    # When the body committed: the revoked sessions' cached copies say so.
    revoked_at: list[datetime] = []

    async def body(write: Write) -> MutationResult:
        changed = await queries.change_password(
            write.conn, scope, old_hash=old_hash, new_hash=new_hash, revoked_session_ids=others, now=write.now
        )
        if not changed:
            return MutationResult.failed(
                "currentPassword", ErrorCode.CONFLICT, "the password changed meanwhile; try again"
            )
        await write.record("user.password_changed", project_id=None, payload={"user_id": scope.user_id})
        revoked_at.append(write.now)
        return WrittenUser(scope.user_id, rows=rows)

    result = await run_write(ctx, body, on_replay=_replayed_user)
    if revoked_at:
        await overwrite_cached_sessions(ctx.services, rows, revoked_at=revoked_at[-1])
    return result


async def _refused(ctx: RequestContext, refusal: MutationResult) -> MutationResult:
    """A refusal decided before any write, unless the Idempotency-Key's first execution committed:
    its replay meets the state that execution left (the old password no longer verifies)."""

    async def body(write: Write) -> MutationResult:
        return refusal

    return await run_write(ctx, body, on_replay=_replayed_user)
