"""API keys: an organization's list, revocation, and the per-request lookup by prefix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import ApiKey, Organization, User
from persistence.queries.rows import AnyRow
from persistence.queries.users import user_columns

_keys = ApiKey.__table__
# What an organization may see of a key: never its secret's hash.
KEY_FIELDS = ("id", "organization_id", "created_by_user_id", "name", "prefix", "scope")
KEY_TIMES = ("expires_at", "revoked_at", "created_at")


def _columns() -> list[Any]:
    return [_keys.c[name] for name in (*KEY_FIELDS, *KEY_TIMES)]


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> AnyRow:
    return (await conn.execute(insert(ApiKey).values(**values).returning(*_columns()))).one()


async def keys_of(conn: AsyncConnection, organization_id: int) -> Sequence[AnyRow]:
    """The organization's keys, oldest first (a handful each: no pagination)."""
    statement = select(*_columns()).where(_keys.c.organization_id == organization_id).order_by(_keys.c.id)
    return (await conn.execute(statement)).all()


async def key(
    conn: AsyncConnection, organization_id: int, key_id: int, *, with_secret_hash: bool = False
) -> AnyRow | None:
    columns = [*_columns(), _keys.c.secret_hash] if with_secret_hash else _columns()
    statement = select(*columns).where(_keys.c.id == key_id, _keys.c.organization_id == organization_id)
    return (await conn.execute(statement)).one_or_none()


async def keys_by_ids(
    conn: AsyncConnection, organization_id: int, key_ids: Sequence[int]
) -> Sequence[AnyRow]:
    """The organization's keys among these ids (revoked ones too), in one statement."""
    statement = select(*_columns()).where(_keys.c.id.in_(key_ids), _keys.c.organization_id == organization_id)
    return (await conn.execute(statement)).all()


async def revoke_key(conn: AsyncConnection, organization_id: int, key_id: int, now: datetime) -> None:
    """Revokes it if it is the organization's and not revoked yet (a second revocation keeps the first
    time)."""
    statement = update(ApiKey).where(
        _keys.c.id == key_id, _keys.c.organization_id == organization_id, _keys.c.revoked_at.is_(None)
    )
    await conn.execute(statement.values(revoked_at=now))


async def key_with_user(conn: AsyncConnection, prefix: str) -> AnyRow | None:
    """The key by its prefix, with its creator and their organization, in one statement. The user's
    columns are labelled as ``sessions.session_with_user`` labels them."""
    users, organizations = User.__table__, Organization.__table__
    statement = (
        select(
            *_columns(),
            _keys.c.secret_hash,
            *user_columns(users, "user_"),
            organizations.c.slug.label("organization_slug"),
            organizations.c.name.label("organization_name"),
            organizations.c.created_at.label("organization_created_at"),
        )
        .select_from(
            _keys.join(users, users.c.id == _keys.c.created_by_user_id).join(
                organizations, organizations.c.id == users.c.organization_id
            )
        )
        .where(_keys.c.prefix == prefix)
    )
    return (await conn.execute(statement)).one_or_none()
