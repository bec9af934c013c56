"""Trusted documents: registration, lookups by id or hash, and what is new since a process last looked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import TrustedDocument
from persistence.queries.rows import AnyRow

_documents = TrustedDocument.__table__
DOCUMENT_FIELDS = ("id", "document_id", "sha256", "name", "client_name", "operation_type", "body", "cost")


def _columns() -> list[Any]:
    return [_documents.c[name] for name in DOCUMENT_FIELDS]


async def insert_documents(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    if values:
        await conn.execute(insert(TrustedDocument), list(values))


async def by_document_ids(conn: AsyncConnection, document_ids: Sequence[str]) -> Sequence[AnyRow]:
    if not document_ids:
        return []
    statement = select(*_columns()).where(_documents.c.document_id.in_(document_ids))
    return (await conn.execute(statement)).all()


async def by_ids(conn: AsyncConnection, ids: Sequence[int]) -> Sequence[AnyRow]:
    """Documents by their row ids (a TrustedDocument's global id names the row), in one statement."""
    statement = select(*_columns()).where(_documents.c.id.in_(ids))
    return (await conn.execute(statement)).all()


async def find(conn: AsyncConnection, *, document_id: str | None, sha256: str | None) -> AnyRow | None:
    """One document by its id or its hash (the first given; of several ids with one body, the first
    registered)."""
    if document_id is not None:
        condition = _documents.c.document_id == document_id
    elif sha256 is not None:
        condition = _documents.c.sha256 == sha256
    else:
        return None
    return (
        await conn.execute(select(*_columns()).where(condition).order_by(_documents.c.id).limit(1))
    ).first()


async def since(conn: AsyncConnection, last_id: int) -> Sequence[AnyRow]:
    """Every document registered after ``last_id``, in order (bodies included: a process keeps them)."""
    statement = select(*_columns()).where(_documents.c.id > last_id).order_by(_documents.c.id)
    return (await conn.execute(statement)).all()
