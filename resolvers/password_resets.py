"""Password reset, nobody signed in: ``passwordResetRequest`` (by email) and ``passwordResetConfirm``
(with the emailed token). Single use, 1 h expiry.

Asking answers the same whether or not the email belongs to an active user, and does the same work
before answering: one INSERT that writes a row only for an active user (persistence/queries/
password_resets.py); the email job is enqueued in the background after the commit, so the answer does
not wait for the queue. Requests are throttled per email and per client address, every one counted
(resolvers/login_throttle.py), and a refusal too is the same whoever the email belongs to.

Confirming sets the password, marks the reset used, revokes every session of the user and records
``user.password_reset``, in one unit of work; the cached sessions are replaced right after the commit,
so every old token stops working at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs.enqueue import PASSWORD_RESET_EMAIL
from jobs.password_reset import reset_token
from persistence.models.base import utcnow
from persistence.queries import password_resets as queries
from persistence.queries.rows import AnyRow
from resolvers.auth import overwrite_cached_sessions
from resolvers.context import RequestContext
from resolvers.login_throttle import count_reset_request
from resolvers.mutations import ErrorCode, MutationResult
from resolvers.user_mutations import check_email, check_password, token_hash
from resolvers.writes import PublicWrite, run_public_write

RESET_TTL = timedelta(hours=1)
TOKEN_MAX = 128
_INVALID = "this token is unknown, used or expired"


async def request_reset(ctx: RequestContext, email: str) -> MutationResult:
    """Always the same answer for a well-formed email; the object id is never shown."""
    errors = check_email(email, "email")
    if errors:
        return MutationResult(None, errors)
    email = email.strip().lower()
    await count_reset_request(ctx, email)
    nonce = secrets.token_hex(16)
    hashed = token_hash(reset_token(ctx.settings.jwt_secret, nonce))

    async def body(write: PublicWrite) -> MutationResult:
        reset_id = await queries.insert_reset(
            write.conn,
            email=email,
            token_hash=hashed,
            nonce=nonce,
            now=write.now,
            expires_at=write.now + RESET_TTL,
        )
        return MutationResult(reset_id)

    result = await run_public_write(ctx, body)
    if result.object_id is not None:
        ctx.services.emails.schedule(PASSWORD_RESET_EMAIL, result.object_id)
    return MutationResult(None)


class _Raced(Exception):
    """The reset or its user changed between the read and the write: roll the write back."""


@dataclass(frozen=True)
class _Reset:
    user_id: int
    rows: Sequence[AnyRow]
    revoked_at: datetime


async def confirm_reset(ctx: RequestContext, token: str, new_password: str) -> MutationResult:
    errors = check_password(new_password, "newPassword")
    if errors:
        return MutationResult(None, errors)
    invalid = MutationResult.failed("token", ErrorCode.INVALID, _INVALID)
    if not 0 < len(token) <= TOKEN_MAX:
        return invalid
    hashed = token_hash(token)
    # Read and hashed before the unit of work: argon2 must not hold it open.
    async with ctx.db.read() as conn:
        rows = await queries.live_reset_with_sessions(conn, hashed, utcnow())
    if not rows:
        return invalid
    reset_id, user_id = int(rows[0].reset_id), int(rows[0].user_id)
    organization_id = int(rows[0].user_organization_id)
    password_hash = await ctx.services.passwords.hash(new_password)
    done: list[_Reset] = []

    async def body(write: PublicWrite) -> MutationResult:
        if not await queries.use_reset(write.conn, reset_id, write.now):
            raise _Raced
        if not await queries.reset_password(write.conn, user_id, password_hash, write.now):
            raise _Raced  # deactivated meanwhile: the reset stays unused (the rollback)
        payload = {"user_id": user_id, "reset_id": reset_id}
        await write.record(
            "user.password_reset", organization_id=organization_id, actor_id=user_id, payload=payload
        )
        done.append(_Reset(user_id, rows, write.now))
        return MutationResult(None)

    try:
        result = await run_public_write(ctx, body)
    except _Raced:
        return invalid
    for reset in done[-1:]:
        await overwrite_cached_sessions(ctx.services, reset.rows, revoked_at=reset.revoked_at)
    return result
