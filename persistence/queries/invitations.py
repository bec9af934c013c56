"""Invitations read back by id (they are written in persistence/queries/user_writes.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Invitation
from persistence.queries.rows import AnyRow

_invitations = Invitation.__table__


async def invitations_by_ids(
    conn: AsyncConnection, organization_id: int, invitation_ids: Sequence[int]
) -> Sequence[AnyRow]:
    """The organization's invitations among these ids (accepted and expired ones too): one statement.
    Never the token's hash."""
    statement = select(
        _invitations.c.id, _invitations.c.email, _invitations.c.role, _invitations.c.expires_at
    ).where(_invitations.c.id.in_(invitation_ids), _invitations.c.organization_id == organization_id)
    return (await conn.execute(statement)).all()
