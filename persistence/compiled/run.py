"""Runs one compiled statement: its single value is the root field's JSON (no row: nothing found)."""

from __future__ import annotations

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
