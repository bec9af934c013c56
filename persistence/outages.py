"""Telling an unreachable database from a bug.

A request that meets MariaDB down, restarting, frozen past its timeouts, or a pool with no
connection to give within its wait is an outage: the client should retry (schema/core/errors.py
answers 503 ``SERVICE_UNAVAILABLE``), and the operator is told by /readyz and a metric. Anything
else the driver raises stays a bug (``INTERNAL_SERVER_ERROR``).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# MariaDB client errors of a connection that could not be made: nothing reached the server.
NOT_CONNECTED = frozenset({2002, 2003, 2005})
# A connection lost or gone mid-way: what was sent may or may not have been applied.
CONNECTION_LOST = frozenset({2006, 2013, 2055})


class DatabaseTimedOut(Exception):
    """The request's deadline passed while it waited on the database (a statement, a checkout or a
    commit in flight): MariaDB frozen or swamped, not a slow request. Whether it applied a write is
    unknown."""


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _errno(error: BaseException) -> int | None:
    orig = error.orig if isinstance(error, DBAPIError) else error
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database could not be used just now."""
    for cause in _chain(error):
        if isinstance(cause, PoolTimeout | DatabaseTimedOut):
            return True
        if isinstance(cause, DBAPIError) and (
            cause.connection_invalidated or _errno(cause) in NOT_CONNECTED | CONNECTION_LOST
        ):
            return True
    return False


def nothing_was_sent(error: BaseException) -> bool:
    """Whether the database surely applied nothing: no connection was made or given."""
    for cause in _chain(error):
        if isinstance(cause, PoolTimeout):
            return True
        if isinstance(cause, DBAPIError) and _errno(cause) in NOT_CONNECTED:
            return True
    return False
