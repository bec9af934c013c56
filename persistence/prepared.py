"""Statements compiled once per shape and sent as the driver's SQL: the hot writes' path.

``conn.execute(statement)`` pays SQLAlchemy's per-execution work even when its compiled cache hits:
the statement built, its cache key generated (walking every value of an INSERT or UPDATE), the
parameters constructed and the IN lists expanded. A write that is one of a few shapes (which columns
an update sets, whether the viewer sees every project) needs none of it: its statement is built with
named ``bindparam``s for the request's values, compiled once for the dialect, and each request sends
the text with its values in the driver's order, through the bind processors of their columns
(UTC datetimes, JSON, enums). The statements still fire SQLAlchemy's cursor events: the statement
counter counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True, slots=True)
class Prepared:
    """The text for the driver, its positional parameters' names in order, the values the statement
    fixes (already in the driver's form) and the request values' bind processors."""

    sql: str
    parameter_names: tuple[str, ...]
    constants: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        processors, constants = self.processors, self.constants
        ordered = []
        for name in self.parameter_names:
            if name in constants:
                ordered.append(constants[name])
                continue
            value = values[name]
            processor = processors.get(name)
            ordered.append(value if processor is None else processor(value))
        return tuple(ordered)


def prepare(dialect: Dialect, statement: ClauseElement, request: frozenset[str]) -> Prepared:
    """``request``: the names of the bind parameters each execution gives; every other parameter is a
    constant of the statement (a role, the 1 of ``version + 1``), put in the driver's form once. An
    IN list must list SQL values (``literal``), not Python ones: those expand per execution."""
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError("a prepared statement is SQL")
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise ValueError("a prepared statement cannot expand IN lists per execution")
    if compiled.insert_prefetch or compiled.update_prefetch:
        # A column default computed by Python at execution: the driver's SQL would not compute it.
        raise ValueError("a prepared write must set every column that has a Python default")
    names = tuple(compiled.positiontup or ())
    constants: dict[str, Any] = {}
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type._cached_bind_processor(dialect)
        if name in request:
            if processor is not None:
                processors[name] = processor
            continue
        if bind.required:
            raise ValueError(f"bind parameter {name!r} is neither a request value nor a constant")
        value = compiled.params[name]
        constants[name] = value if processor is None else processor(value)
    return Prepared(compiled.string, names, constants, processors)


class PreparedStatements:
    """One write's statements by shape: built and compiled on first use, per dialect. The shapes are
    few and fixed by the code (a set of columns, a flag or two), so the cache has no bound."""

    def __init__(self, build: Callable[..., ClauseElement], request: frozenset[str]) -> None:
        """``build(dialect_name, *shape)``: the statement; ``request``: the names of the parameters
        the executions give (a shape may use only some)."""
        self._build = build
        self._request = request
        self._prepared: dict[tuple[str, Hashable], Prepared] = {}

    def get(self, dialect: Dialect, *shape: Hashable) -> Prepared:
        key = (dialect.name, shape)
        found = self._prepared.get(key)
        if found is None:
            statement = self._build(dialect.name, *shape)
            found = self._prepared[key] = prepare(dialect, statement, self._request)
        return found

    async def execute(
        self, conn: AsyncConnection, shape: tuple[Hashable, ...], values: Mapping[str, Any]
    ) -> CursorResult[Any]:
        prepared = self.get(conn.dialect, *shape)
        return await conn.exec_driver_sql(prepared.sql, prepared.parameters(values))
