"""The engine, short read connections and the unit of work.

Queries never commit; only ``unit_of_work`` does.

Stale connections: a pooled connection idle longer than ``db_ping_idle_seconds`` is pinged before it is
handed out (a dead one is replaced), so a connection the server closed while it sat idle never fails a
request; a connection in steady use is not pinged (a ping per checkout was a round trip per read). A read
whose first statement meets a connection killed under it (a MariaDB restart) runs again once on a fresh
one: nothing of the read had happened. A unit of work is never retried: it may have written.

A read replica (persistence/replica.py) serves only the reads that say they tolerate lag; one that
fails on it for its connection (the replica died) runs again once on the primary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection

from persistence.compiled.ids import (
    BASE64URL_FUNCTION,
    GLOBAL_ID_FUNCTION,
    JSON_NUMBER_FUNCTION,
    base64url,
    encode_global_id,
    json_number,
)
from persistence.decoders import MYSQL_DECODERS
from persistence.metrics import DB_LAG_TOLERANT_READS, DB_POOL_WAIT
from persistence.replica import Replica, ReplicaLag, reads_follow_writes
from persistence.settings import Settings
from persistence.slow_queries import SlowQueryThresholds, install_slow_query_log
from persistence.statements import install_statement_counter, waiting_on_database
from persistence.tracing import instrument_engine

log = logging.getLogger(__name__)

# A pooled connection's ``info``: when it went back to the pool (monotonic seconds).
_IDLE_SINCE = "taskql_idle_since"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # SQLite has no base64: the compiled reads encode global ids and cursors with these functions.
    dbapi_connection.create_function(GLOBAL_ID_FUNCTION, 2, encode_global_id, deterministic=True)
    dbapi_connection.create_function(BASE64URL_FUNCTION, 1, base64url, deterministic=True)
    dbapi_connection.create_function(JSON_NUMBER_FUNCTION, 1, json_number, deterministic=True)


def split_pool(settings: Settings) -> tuple[tuple[int, int], tuple[int, int]]:
    """The seed's pool per process (``db_pool_size`` plus ``db_max_overflow``) shared by the API's two
    engines: (size, overflow) for the writes' pool, then for the reads' (half each, the odd one to
    the writes). Either half is more than the requests a process admits at once."""
    size, overflow = settings.db_pool_size, settings.db_max_overflow
    writes = ((size + 1) // 2, (overflow + 1) // 2)
    return writes, (max(1, size - writes[0]), overflow - writes[1])


def create_engine(
    settings: Settings,
    *,
    null_pool: bool = False,
    statement_timeout: bool = False,
    autocommit: bool = False,
    pool: tuple[int, int] | None = None,
    url: str | None = None,
) -> AsyncEngine:
    """An engine for the configured URL (or ``url``, the replica's); MariaDB gets the seed's pool
    (10/20/30 s/3600 s) and the ping of connections idle longer than ``db_ping_idle_seconds``;
    ``pool``: another (size, overflow).

    ``autocommit`` (MariaDB): connections that never hold a transaction, for reads. A read in a
    transaction must end it (a ROLLBACK round trip on every return to the pool, else the next read
    would see the same snapshot); in autocommit each statement sees what is committed, and the
    connection goes back to the pool as it is."""
    kwargs: dict[str, Any] = {}
    if autocommit and settings.database_url.startswith("mysql"):
        kwargs.update(isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True)
    if null_pool:
        kwargs["poolclass"] = NullPool
    elif not settings.uses_sqlite:
        size, overflow = pool or (settings.db_pool_size, settings.db_max_overflow)
        kwargs.update(
            pool_size=size,
            max_overflow=overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_recycle=settings.db_pool_recycle,
        )
    if settings.database_url.startswith("mysql"):
        kwargs["connect_args"] = {"charset": "utf8mb4", "conv": MYSQL_DECODERS}
        if statement_timeout and settings.db_statement_timeout_seconds > 0:
            # MariaDB aborts any statement of the API's connections running longer (a runaway query
            # holds no connection past it); migrations and jobs use engines without this bound.
            seconds = settings.db_statement_timeout_seconds
            kwargs["connect_args"]["init_command"] = f"SET SESSION max_statement_time = {seconds:g}"
    engine = create_async_engine(url or settings.database_url, **kwargs)
    if settings.uses_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif not null_pool and settings.db_pool_pre_ping:
        install_idle_ping(engine, settings.db_ping_idle_seconds)
    install_statement_counter(engine.sync_engine)
    install_slow_query_log(engine.sync_engine, SlowQueryThresholds.from_settings(settings))
    instrument_engine(engine.sync_engine)  # a span per statement, when tracing is on
    return engine


def create_replica(
    settings: Settings, primary_reads: AsyncEngine, pool: tuple[int, int], *, statement_timeout: bool = True
) -> Replica | None:
    """The configured read replica (None without one): an autocommit pool of ``pool``'s size, its lag
    measured against ``primary_reads``; ``statement_timeout`` as for the primary's engine."""
    if settings.database_replica_url is None:
        return None
    engine = create_engine(
        settings,
        statement_timeout=statement_timeout,
        autocommit=True,
        pool=pool,
        url=settings.database_replica_url,
    )
    lag = ReplicaLag(
        primary_reads,
        engine,
        max_lag_seconds=settings.replica_max_lag_seconds,
        check_seconds=settings.replica_lag_check_seconds,
    )
    return Replica(engine, lag)


def install_idle_ping(engine: AsyncEngine, idle_seconds: float) -> None:
    """Pings a connection on checkout only when it sat in the pool longer than ``idle_seconds``; a
    failed ping makes the pool replace it (DisconnectionError: the pool connects afresh and retries)."""
    dialect = engine.sync_engine.dialect

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return  # just connected, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("a pooled connection did not answer its ping") from error

    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


class _ReadConnection(AsyncConnection):
    """A read's connection: its first statement, failing on a connection the server killed, is run
    again once. The failure invalidated the connection (and the pool's older ones); after the rollback
    the next statement checks a fresh one out. On the replica (``fallback``: the primary's engine) it
    runs again on the primary instead, and the replica is not read until its next check finds it well."""

    def __init__(self, engine: AsyncEngine, fallback: tuple[AsyncEngine, Replica] | None = None) -> None:
        super().__init__(engine)
        self._first = True
        self._fallback = fallback

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._once_more_if_killed(super().execute, *args, **kwargs)

    async def exec_driver_sql(self, *args: Any, **kwargs: Any) -> Any:
        # The compiled reads' statements (persistence/compiled/run.py).
        return await self._once_more_if_killed(super().exec_driver_sql, *args, **kwargs)

    async def _once_more_if_killed(
        self, run: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        if not self._first:
            return await run(*args, **kwargs)
        self._first = False
        try:
            return await run(*args, **kwargs)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            if self._fallback is not None:
                await self._move_to_primary(*self._fallback, error)
            else:
                log.warning("a read met a closed database connection; retrying it once on a fresh one")
                await self.rollback()
            return await run(*args, **kwargs)

    async def _move_to_primary(self, primary: AsyncEngine, replica: Replica, error: BaseException) -> None:
        """This connection, closed on the replica, opened again on the primary."""
        replica.lag.unreachable(error)
        DB_LAG_TOLERANT_READS.labels("primary").inc()
        await self.close()
        self.engine, self.sync_engine, self.sync_connection = primary, primary.sync_engine, None
        await self.start()


class Database:
    """Holds the engines; hands out one short connection per use (never shared by concurrent tasks).

    ``read_engine``: where ``read()`` takes its connections (an autocommit pool: see create_engine);
    without one, reads share the engine's pool. ``replica``: where ``read(lag_ok=True)`` may go
    instead (persistence/replica.py); ``engines`` are the primary's alone."""

    def __init__(
        self, engine: AsyncEngine, read_engine: AsyncEngine | None = None, replica: Replica | None = None
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.replica = replica

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        return (self.engine,) if self.read_engine is self.engine else (self.engine, self.read_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self, *, lag_ok: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for reads. ``lag_ok``: what is read may be a few seconds old (lists, search,
        reports), so it may come from the replica; never a write's payload, a version check, a
        cache fill or what subscribers are sent."""
        started = time.perf_counter()
        replica = self._replica_for(lag_ok)
        async with AsyncExitStack() as stack:
            with waiting_on_database():  # the checkout: a pool wait, a connect, an idle ping
                conn = await self._checkout(stack, replica)
            DB_POOL_WAIT.observe(time.perf_counter() - started)
            yield conn

    @asynccontextmanager
    async def read_caught_up(self, wait_seconds: float) -> AsyncIterator[AsyncConnection]:
        """A connection that sees everything committed before this call: the replica's once it has
        applied all of that (waiting at most ``wait_seconds``), else the primary's. For long reads
        off the request path (a report's build), where one more round trip is nothing and the
        primary is spared a heavy read."""
        replica = self.replica
        if replica is not None and not await replica.has_caught_up(self.read_engine, wait_seconds):
            replica = None
        if self.replica is not None:
            DB_LAG_TOLERANT_READS.labels("replica" if replica else "primary").inc()
        async with AsyncExitStack() as stack:
            yield await self._checkout(stack, replica)

    def _replica_for(self, lag_ok: bool) -> Replica | None:
        """The replica when this read may use it now; counted by where the read goes."""
        if not lag_ok or self.replica is None:
            return None
        if self.replica.usable and not reads_follow_writes():
            DB_LAG_TOLERANT_READS.labels("replica").inc()
            return self.replica
        DB_LAG_TOLERANT_READS.labels("primary").inc()
        return None

    async def _checkout(self, stack: AsyncExitStack, replica: Replica | None) -> AsyncConnection:
        if replica is None:
            return await stack.enter_async_context(_ReadConnection(self.read_engine))
        try:
            return await stack.enter_async_context(
                _ReadConnection(replica.engine, (self.read_engine, replica))
            )
        except DBAPIError as error:  # the replica refused the connection: the primary serves the read
            replica.lag.unreachable(error)
            DB_LAG_TOLERANT_READS.labels("primary").inc()
            return await stack.enter_async_context(_ReadConnection(self.read_engine))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: everything inside commits together or not at all."""
        started = time.perf_counter()
        async with AsyncExitStack() as stack:
            with waiting_on_database():
                conn = await stack.enter_async_context(self.engine.connect())
            DB_POOL_WAIT.observe(time.perf_counter() - started)
            transaction = await conn.begin()
            try:
                yield conn
            except BaseException:
                if transaction.is_active:
                    await transaction.rollback()
                raise
            with waiting_on_database():
                await transaction.commit()

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()
        if self.replica is not None:
            await self.replica.engine.dispose()
