"""Runs one compiled statement: its single value is the root field's JSON (no row: nothing found); or,
for ``nodes(ids:)``, each row's id and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.compiled.sql import CompiledStatement


async def read_json(
    conn: AsyncConnection, statement: CompiledStatement, values: dict[str, Any]
) -> bytes | None:
    row = (await conn.exec_driver_sql(statement.sql, statement.parameters(values))).first()
    if row is None or row[0] is None:
        return None
    value = row[0]
    return value.encode() if isinstance(value, str) else bytes(value)


async def read_json_by_id(
    conn: AsyncConnection, statement: CompiledStatement, values: dict[str, Any]
) -> dict[int, bytes]:
    """Each row's JSON by its id (rows the viewer may not see are simply not there)."""
    rows: Sequence[Any] = (await conn.exec_driver_sql(statement.sql, statement.parameters(values))).all()
    found: dict[int, bytes] = {}
    for row_id, value in rows:
        found[int(row_id)] = value.encode() if isinstance(value, str) else bytes(value)
    return found
