"""Platform operators: the flag on a user row, set from the command line (`python -m schema operator`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import User
from persistence.queries.rows import AnyRow

_users = User.__table__


async def user_by_email_for_update(conn: AsyncConnection, email: str) -> AnyRow | None:
    """The user's id, organization and flag, locked until the commit: two grants at once see one
    another's result and record one event between them."""
    statement = (
        select(_users.c.id, _users.c.organization_id, _users.c.is_operator)
        .where(_users.c.email == email)
        .with_for_update()
    )
    return (await conn.execute(statement)).first()


async def set_operator(conn: AsyncConnection, user_id: int, is_operator: bool, now: datetime) -> None:
    await conn.execute(
        update(User).where(_users.c.id == user_id).values(is_operator=is_operator, updated_at=now)
    )
