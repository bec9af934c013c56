"""Push devices: a user's registrations (the resolvers) and the push job's reads and prunes.

A token is unique across the service: registering one is an upsert on it, which refreshes the caller's
own row or moves someone else's to the caller (a device that changed hands), in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import PushPlatform
from persistence.models import PushDevice
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope

_devices = PushDevice.__table__


def _upsert(dialect: str, values: dict[str, object]) -> Insert:
    moved = ("user_id", "organization_id", "platform", "last_seen_at")
    if dialect == "sqlite":
        statement = sqlite_insert(PushDevice).values(values)
        excluded = {name: statement.excluded[name] for name in moved}
        return statement.on_conflict_do_update(index_elements=["token"], set_=excluded)
    mysql = mysql_insert(PushDevice).values(values)
    return mysql.on_duplicate_key_update({name: mysql.inserted[name] for name in moved})


async def register_device(
    conn: AsyncConnection, scope: Scope, token: str, platform: PushPlatform, now: datetime
) -> AnyRow:
    """The caller's device row for ``token`` after the upsert (created, refreshed or moved)."""
    values = {
        "user_id": scope.user_id,
        "organization_id": scope.organization_id,
        "token": token,
        "platform": platform,
        "created_at": now,
        "last_seen_at": now,
    }
    await conn.execute(_upsert(conn.dialect.name, values))
    return (await conn.execute(select(_devices).where(_devices.c.token == token))).one()


async def unregister_device(conn: AsyncConnection, scope: Scope, token: str) -> int | None:
    """Deletes the caller's own device of ``token``; its id, or None when the caller has none such
    (someone else's token or an unknown one: nothing is deleted)."""
    statement = (
        delete(PushDevice)
        .where(_devices.c.token == token, _devices.c.user_id == scope.user_id)
        .returning(_devices.c.id)
    )
    row = (await conn.execute(statement)).one_or_none()
    return None if row is None else int(row.id)


async def devices_of(conn: AsyncConnection, user_id: int) -> Sequence[AnyRow]:
    """A user's devices, oldest first."""
    statement = select(_devices).where(_devices.c.user_id == user_id).order_by(_devices.c.id)
    return (await conn.execute(statement)).all()


async def devices_by_ids(conn: AsyncConnection, user_id: int, device_ids: Sequence[int]) -> Sequence[AnyRow]:
    """The user's own devices among these ids, in one statement."""
    statement = select(_devices).where(_devices.c.id.in_(device_ids), _devices.c.user_id == user_id)
    return (await conn.execute(statement)).all()


async def prune_devices(conn: AsyncConnection, devices: Sequence[tuple[int, str]]) -> int:
    """Deletes the named (id, token) devices; a row whose token changed since is kept."""
    pruned = 0
    for device_id, token in devices:
        result = await conn.execute(
            delete(PushDevice).where(_devices.c.id == device_id, _devices.c.token == token)
        )
        pruned += result.rowcount
    return pruned
