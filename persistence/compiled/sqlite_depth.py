"""Whether SQLite can parse a compiled statement at all: its parser's stack (100 entries unless the
library was built otherwise) overflows on deeply nested subqueries, which a deep document makes (a
task's parent's parent's ..., a project's members' projects' members). Such an operation runs on the
resolvers instead, which read level by level."""

from __future__ import annotations

import sqlite3
from functools import lru_cache

# SQLite's message for a statement nested deeper than its parser's stack (sqlite3 gives no code).
_TOO_DEEP = "parser stack overflow"


@lru_cache(maxsize=1024)
def parses_on_sqlite(sql: str, parameter_count: int) -> bool:
    """Parsed by this process's SQLite library (the one aiosqlite drives), not run: in an empty
    in-memory database a statement that parses then fails on its first table."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(sql, [None] * parameter_count)
    except sqlite3.OperationalError as failed:
        return _TOO_DEEP not in str(failed)
    finally:
        probe.close()
    return True
