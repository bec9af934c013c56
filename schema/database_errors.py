"""The command line's answer to a database it cannot use (a wrong URL, password, host or database
name): one line on stderr and exit status 1, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError


def _shown(url: str) -> str:
    """The URL with its password masked; an unparsable one is not repeated (it may hold a secret)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "TASKQL_DATABASE_URL"


def _reason(error: DBAPIError) -> str:
    """The driver's own words: pymysql's (errno, message) read as "message (error errno)"."""
    args: tuple[object, ...] = getattr(error.orig, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return f"{args[1]} (error {args[0]})"
    return str(error.orig) or type(error.orig).__name__


@contextmanager
def database_errors_as_one_line(url: str) -> Iterator[None]:
    try:
        yield
    except (ArgumentError, NoSuchModuleError) as error:
        print(f"taskql: TASKQL_DATABASE_URL is not a database URL we can use: {error}", file=sys.stderr)
        sys.exit(1)
    except DBAPIError as error:
        print(f"taskql: database {_shown(url)}: {_reason(error)}", file=sys.stderr)
        sys.exit(1)
