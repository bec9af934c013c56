"""Counts the statements a request sends to the database (the seed's budget: fewer than 5), and every
statement of the process in ``database_queries_total{statement}``; and knows whether the request is
waiting on the database right now (a statement, a checkout or a commit in flight), so a request whose
deadline passes while MariaDB does not answer is told apart from one that was merely slow.

Transaction control and connection pings are not counted. The counter lives in a context
variable so that DataLoader batches, which run as tasks copied from the request's context,
add to the request that caused them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

from persistence.metrics import DATABASE_QUERIES

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION")
_KINDS = ("select", "insert", "update", "delete")
# One child per kind, made once: labels() takes a lock and a dict lookup on every statement otherwise.
_BY_KIND = {kind: DATABASE_QUERIES.labels(kind) for kind in (*_KINDS, "other")}


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)
    # Statements, checkouts and commits of the request in flight.
    database_waits: int = 0


_current: ContextVar[StatementCounter | None] = ContextVar("taskql_statement_counter", default=None)


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)


@contextmanager
def waiting_on_database() -> Iterator[None]:
    """Marks the current request as waiting on the database (a checkout, a commit) for the block.

    A block cancelled (the request's deadline) keeps its mark, as a statement cancelled in flight
    does (no event ends it): what handles the deadline then sees what the request was waiting on."""
    counter = _current.get()
    if counter is None:
        yield
        return
    counter.database_waits += 1
    try:
        yield
    except asyncio.CancelledError:
        raise
    except BaseException:
        counter.database_waits -= 1
        raise
    counter.database_waits -= 1


def is_waiting_on_database() -> bool:
    counter = _current.get()
    return counter is not None and counter.database_waits > 0


def _before_cursor_execute(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    counter = _current.get()
    if counter is not None:
        counter.database_waits += 1
    head = statement.lstrip()[:17]
    if head.upper().startswith(_TRANSACTION_CONTROL):
        return
    kind = head.split(None, 1)[0].lower() if head else "other"
    _BY_KIND[kind if kind in _KINDS else "other"].inc()
    if counter is None:
        return
    counter.count += 1
    counter.statements.append(statement)


def _statement_ended(*_: Any) -> None:
    counter = _current.get()
    if counter is not None and counter.database_waits > 0:
        counter.database_waits -= 1


def _statement_failed(context: ExceptionContext) -> None:
    # A statement cancelled in flight keeps its mark (see waiting_on_database).
    if not isinstance(context.original_exception, asyncio.CancelledError):
        _statement_ended()


def install_statement_counter(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(engine, "after_cursor_execute", _statement_ended)
    event.listen(engine, "handle_error", _statement_failed)
