"""Login sessions: the truth for revocation (the Redis copy is only a cache)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import AuthSession, Organization, User
from persistence.queries.rows import AnyRow
from persistence.queries.users import user_columns

_sessions = AuthSession.__table__


async def insert_session(
    conn: AsyncConnection, *, session_id: str, user_id: int, refresh_token_hash: str, expires_at: datetime
) -> None:
    await conn.execute(
        insert(AuthSession).values(
            id=session_id, user_id=user_id, refresh_token_hash=refresh_token_hash, expires_at=expires_at
        )
    )


def _sessions_with_users() -> Select[Any]:
    users, organizations = User.__table__, Organization.__table__
    return select(
        _sessions.c.id.label("session_id"),
        _sessions.c.refresh_token_hash,
        _sessions.c.expires_at,
        _sessions.c.revoked_at,
        *user_columns(users, "user_"),
        organizations.c.slug.label("organization_slug"),
        organizations.c.name.label("organization_name"),
        organizations.c.created_at.label("organization_created_at"),
    ).select_from(
        _sessions.join(users, users.c.id == _sessions.c.user_id).join(
            organizations, organizations.c.id == users.c.organization_id
        )
    )


async def session_with_user(conn: AsyncConnection, session_id: str) -> AnyRow | None:
    """The session, its user and the user's organization, in one statement."""
    row: AnyRow | None = (
        await conn.execute(_sessions_with_users().where(_sessions.c.id == session_id))
    ).first()
    return row


async def sessions_with_users(conn: AsyncConnection, session_ids: Sequence[str]) -> Sequence[AnyRow]:
    """The same for many sessions at once, in one statement (rows in no particular order)."""
    rows: Sequence[AnyRow] = (
        await conn.execute(_sessions_with_users().where(_sessions.c.id.in_(session_ids)))
    ).all()
    return rows


async def rotate_refresh_token(
    conn: AsyncConnection, *, session_id: str, old_hash: str, new_hash: str, expires_at: datetime
) -> bool:
    """Swaps the refresh token only if ``old_hash`` is still current: a replayed token rotates nothing."""
    result = await conn.execute(
        update(AuthSession)
        .where(
            _sessions.c.id == session_id,
            _sessions.c.refresh_token_hash == old_hash,
            _sessions.c.revoked_at.is_(None),
        )
        .values(refresh_token_hash=new_hash, expires_at=expires_at)
    )
    return result.rowcount == 1


async def revoke_session(conn: AsyncConnection, session_id: str, now: datetime) -> None:
    await conn.execute(
        update(AuthSession)
        .where(_sessions.c.id == session_id, _sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
