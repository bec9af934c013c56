from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Organization
from persistence.queries.rows import AnyRow


async def organization_by_id(conn: AsyncConnection, organization_id: int) -> AnyRow | None:
    organizations = Organization.__table__
    statement = select(organizations).where(organizations.c.id == organization_id)
    return (await conn.execute(statement)).first()
