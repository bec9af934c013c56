"""Guarded inserts: a write whose permission check sits in the statement itself.

The guard is a subquery that yields NULL for a NOT NULL column when the writer may not write (the
task is not theirs to comment on, the project not theirs to add to), so a refused write is one
statement that fails, and nothing is read first. These helpers tell that refusal from a real error.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert


def refused_by_guard(error: IntegrityError, table: str, column: str) -> bool:
    """The guard's NULL in ``table.column``, in MariaDB's words or SQLite's; nothing else."""
    text = str(error.orig)
    return f"'{column}' cannot be null" in text or f"NOT NULL constraint failed: {table}.{column}" in text


async def insert_guarded(
    conn: AsyncConnection, statement: ReturningInsert[Any], table: str, column: str
) -> int | None:
    """Runs an ``INSERT ... RETURNING id`` whose ``column`` is the guard; None when it refused."""
    return await guarded_id(conn.execute(statement), table, column)


async def guarded_id(inserting: Awaitable[CursorResult[Any]], table: str, column: str) -> int | None:
    """The id an ``INSERT ... RETURNING id`` being run returns, or None when its guard refused it."""
    try:
        row = (await inserting).one()
    except IntegrityError as error:
        if refused_by_guard(error, table, column):
            return None
        raise
    return int(row[0])
