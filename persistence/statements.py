"""Counts the statements a request sends to the database (the seed's budget: fewer than 5), and every
statement of the process in ``database_queries_total{statement}``.

Transaction control and connection pings are not counted. The counter lives in a context
variable so that DataLoader batches, which run as tasks copied from the request's context,
add to the request that caused them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from persistence.metrics import DATABASE_QUERIES

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION")
_KINDS = ("select", "insert", "update", "delete")
# One child per kind, made once: labels() takes a lock and a dict lookup on every statement otherwise.
_BY_KIND = {kind: DATABASE_QUERIES.labels(kind) for kind in (*_KINDS, "other")}


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)


_current: ContextVar[StatementCounter | None] = ContextVar("taskql_statement_counter", default=None)


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)


def _before_cursor_execute(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    head = statement.lstrip()[:17]
    if head.upper().startswith(_TRANSACTION_CONTROL):
        return
    kind = head.split(None, 1)[0].lower() if head else "other"
    _BY_KIND[kind if kind in _KINDS else "other"].inc()
    counter = _current.get()
    if counter is None:
        return
    counter.count += 1
    counter.statements.append(statement)


def install_statement_counter(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
