"""The engine, short read connections and the unit of work.

Queries never commit; only ``unit_of_work`` does.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from persistence.compiled.ids import GLOBAL_ID_FUNCTION, encode_global_id
from persistence.decoders import MYSQL_DECODERS
from persistence.metrics import DB_POOL_WAIT
from persistence.settings import Settings
from persistence.slow_queries import SlowQueryThresholds, install_slow_query_log
from persistence.statements import install_statement_counter


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # SQLite has no base64: the compiled reads encode global ids with this function.
    dbapi_connection.create_function(GLOBAL_ID_FUNCTION, 2, encode_global_id, deterministic=True)


def create_engine(
    settings: Settings, *, null_pool: bool = False, statement_timeout: bool = False
) -> AsyncEngine:
    """An engine for the configured URL; MariaDB gets the seed's pool (10/20/30 s/3600 s/pre-ping)."""
    kwargs: dict[str, Any] = {}
    if null_pool:
        kwargs["poolclass"] = NullPool
    elif not settings.uses_sqlite:
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_recycle=settings.db_pool_recycle,
            pool_pre_ping=settings.db_pool_pre_ping,
        )
    if settings.database_url.startswith("mysql"):
        kwargs["connect_args"] = {"charset": "utf8mb4", "conv": MYSQL_DECODERS}
        if statement_timeout and settings.db_statement_timeout_seconds > 0:
            # MariaDB aborts any statement of the API's connections running longer (a runaway query
            # holds no connection past it); migrations and jobs use engines without this bound.
            seconds = settings.db_statement_timeout_seconds
            kwargs["connect_args"]["init_command"] = f"SET SESSION max_statement_time = {seconds:g}"
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.uses_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    install_statement_counter(engine.sync_engine)
    install_slow_query_log(engine.sync_engine, SlowQueryThresholds.from_settings(settings))
    return engine


class Database:
    """Holds the engine; hands out one short connection per use (never shared by concurrent tasks)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        started = time.perf_counter()
        async with self.engine.connect() as conn:
            DB_POOL_WAIT.observe(time.perf_counter() - started)
            yield conn

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: everything inside commits together or not at all."""
        started = time.perf_counter()
        async with self.engine.begin() as conn:
            DB_POOL_WAIT.observe(time.perf_counter() - started)
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
