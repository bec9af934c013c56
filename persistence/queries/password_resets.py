"""Password resets: asking for one (by email, unauthenticated) and confirming one with its token.

Asking is one INSERT ... VALUES whose user id is read in the same statement; an unknown or deactivated
email makes it NULL, which the NOT NULL column refuses: the same one statement either way, nothing
written, and no read that would answer faster for an unknown email.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import AuthSession, Organization, PasswordReset, User
from persistence.queries.rows import AnyRow
from persistence.queries.user_writes import update_user_revoking_sessions, violated
from persistence.queries.users import user_columns

_resets = PasswordReset.__table__
_users = User.__table__
_sessions = AuthSession.__table__
_organizations = Organization.__table__


async def insert_reset(
    conn: AsyncConnection, *, email: str, token_hash: str, nonce: str, now: datetime, expires_at: datetime
) -> int | None:
    """The new reset's id, or None when no active user has ``email`` (nothing is written)."""
    active_user = select(_users.c.id).where(_users.c.email == email, _users.c.deactivated_at.is_(None))
    values = {
        "user_id": active_user.scalar_subquery(),
        "token_hash": token_hash,
        "nonce": nonce,
        "created_at": now,
        "expires_at": expires_at,
    }
    statement = insert(PasswordReset).values(**values).returning(_resets.c.id)
    try:
        row = (await conn.execute(statement)).one()
    except IntegrityError as error:
        if violated(error, "'user_id' cannot be null", "NOT NULL constraint failed: password_resets."):
            return None
        raise
    return int(row.id)


async def live_reset_with_sessions(conn: AsyncConnection, token_hash: str, now: datetime) -> Sequence[AnyRow]:
    """The unused, unexpired reset of an active user, joined to each live session of theirs: one row
    per session (or one with NULL session columns), labelled as ``user_writes.user_with_sessions``
    labels them (the session cache's entries are built from them); none for a token that admits nobody."""
    live_session = and_(
        _sessions.c.user_id == _users.c.id, _sessions.c.expires_at > now, _sessions.c.revoked_at.is_(None)
    )
    columns: list[ColumnElement[Any]] = [
        _resets.c.id.label("reset_id"),
        _sessions.c.id.label("session_id"),
        _sessions.c.expires_at,
        _sessions.c.revoked_at,
        *user_columns(_users, "user_"),
        _organizations.c.slug.label("organization_slug"),
        _organizations.c.name.label("organization_name"),
        _organizations.c.created_at.label("organization_created_at"),
    ]
    source = (
        _resets.join(_users, _users.c.id == _resets.c.user_id)
        .join(_organizations, _organizations.c.id == _users.c.organization_id)
        .outerjoin(_sessions, live_session)
    )
    statement = (
        select(*columns)
        .select_from(source)
        .where(
            _resets.c.token_hash == token_hash,
            _resets.c.used_at.is_(None),
            _resets.c.expires_at > now,
            _users.c.deactivated_at.is_(None),
        )
    )
    return (await conn.execute(statement)).all()


async def use_reset(conn: AsyncConnection, reset_id: int, now: datetime) -> bool:
    """Marks a live reset used. Its row lock makes a concurrent confirmation of the same token wait
    and then find it used: single use."""
    statement = (
        update(PasswordReset)
        .where(_resets.c.id == reset_id, _resets.c.used_at.is_(None), _resets.c.expires_at > now)
        .values(used_at=now)
    )
    return (await conn.execute(statement)).rowcount == 1


async def reset_password(conn: AsyncConnection, user_id: int, password_hash: str, now: datetime) -> bool:
    """Sets the active user's password and revokes every session of theirs, in the same write."""
    where = [_users.c.id == user_id, _users.c.deactivated_at.is_(None)]
    values = {"password_hash": password_hash, "updated_at": now}
    return await update_user_revoking_sessions(conn, user_id, where, values, true(), now)


async def reset_for_email(conn: AsyncConnection, reset_id: int) -> AnyRow | None:
    """What the reset email needs: the reset with its user (the job decides whether to send)."""
    statement = (
        select(
            _resets.c.id,
            _resets.c.nonce,
            _resets.c.token_hash,
            _resets.c.expires_at,
            _resets.c.used_at,
            _users.c.email,
            _users.c.name,
            _users.c.deactivated_at,
        )
        .select_from(_resets.join(_users, _users.c.id == _resets.c.user_id))
        .where(_resets.c.id == reset_id)
    )
    row: AnyRow | None = (await conn.execute(statement)).one_or_none()
    return row
