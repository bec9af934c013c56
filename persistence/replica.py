"""The read replica: where reads that tolerate lag go, while it keeps up.

A read chooses at its call site whether it may see a lagging copy (``Database.read(lag_ok=True)``:
lists, search, reports); everything else reads the primary. A lag-tolerant read still goes to the
primary when

- the replica is further behind than ``replica_max_lag_seconds``, or unreachable (``ReplicaLag``, one
  background task per process, measures it every ``replica_lag_check_seconds``);
- its principal wrote in the last ``replica_read_your_writes_seconds`` (read-your-writes): a committed
  write leaves a mark in Redis (``WrittenMarks``) that every process sees, and the charge each request
  pays before it runs asks for the mark in the same round trip (persistence/ratelimit.py), which sets
  this request's ``reads_follow_writes``; a write also sets it for the rest of its own request.

How the lag is measured: MariaDB numbers every transaction with a GTID (domain, server, sequence). Each
check reads the primary's position (``@@gtid_binlog_pos``), then the replica's (``@@gtid_slave_pos``),
and keeps the primary's positions of the last checks with their times. The replica has everything the
primary had at the newest check whose position it has reached, so it lags by at most the time since
that check: an upper bound, exact to within one check interval, on the clock of this process alone
(no clock of either server, nothing written, no table). ``Seconds_Behind_Master`` is not used: it is
NULL while the SQL thread is stopped and 0 while an IO thread that lost its primary has not noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from contextvars import ContextVar

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.cache import Cache
from persistence.metrics import DB_REPLICA_IN_USE, DB_REPLICA_LAG
from persistence.ratelimit import written_mark_key

log = logging.getLogger(__name__)

# This request's lag-tolerant reads go to the primary (its principal wrote a moment ago). A request
# runs in a task of its own, which starts from the server's context: the flag never leaks to another.
_FOLLOWS_WRITES: ContextVar[bool] = ContextVar("taskql_reads_follow_writes", default=False)


def follow_writes() -> None:
    """From here on, this request's lag-tolerant reads go to the primary."""
    _FOLLOWS_WRITES.set(True)


def reads_follow_writes() -> bool:
    return _FOLLOWS_WRITES.get()


class WrittenMarks:
    """After a principal's committed write, a mark in Redis that lives ``seconds``: while it does, that
    principal's lag-tolerant reads go to the primary, whichever process serves them."""

    def __init__(self, cache: Cache, seconds: float) -> None:
        self.cache = cache
        self.milliseconds = round(seconds * 1000)

    async def wrote(self, principal_key: str) -> None:
        follow_writes()
        breaker = self.cache.breaker
        if self.milliseconds <= 0:
            return  # read-your-writes turned off: only the write's own request follows it
        if not breaker.allows():
            return  # every charge falls back to the process's buckets then, which send reads to the primary
        try:
            async with breaker.waiting():
                await self.cache.redis.set(written_mark_key(principal_key), 1, px=self.milliseconds)
        except (RedisError, OSError):
            breaker.record_failure()
            return
        breaker.record_success()


def gtid_positions(text: str | None) -> dict[int, int]:
    """``0-1-42,1-2-7`` as {domain: sequence}: a domain's sequence grows whichever server wrote."""
    positions: dict[int, int] = {}
    for gtid in (text or "").split(","):
        if gtid.strip():
            domain, _server, sequence = gtid.strip().split("-")
            positions[int(domain)] = int(sequence)
    return positions


def has_reached(replica: dict[int, int], primary: dict[int, int]) -> bool:
    """Whether the replica has applied everything the primary had at ``primary``."""
    return all(replica.get(domain, 0) >= sequence for domain, sequence in primary.items())


class ReplicaLag:
    """The replica's lag as this process measures it, and whether lag-tolerant reads may use it."""

    def __init__(
        self, primary: AsyncEngine, replica: AsyncEngine, *, max_lag_seconds: float, check_seconds: float
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        # (monotonic time, the primary's positions then), oldest first: no older than the bound needs.
        self._checks: deque[tuple[float, dict[int, int]]] = deque()
        self.lag_seconds: float | None = None  # None: not measured yet, or the replica unreachable
        # Until the first check says otherwise, reads stay on the primary.
        self.usable = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.check_seconds)

    async def check(self) -> None:
        """One measurement; a check that does not answer within the lag bound counts as unreachable."""
        try:
            lag = await asyncio.wait_for(self._measure(), self.max_lag_seconds)
        except Exception as error:  # whatever went wrong, the replica is not to be read
            self.unreachable(error)
            return
        self.lag_seconds = lag
        DB_REPLICA_LAG.set(lag)
        if lag > self.max_lag_seconds:
            self._switch(False, f"the read replica is {lag:.1f} s behind (over {self.max_lag_seconds:g} s)")
        else:
            self._switch(True, f"the read replica is {lag:.1f} s behind: lag-tolerant reads use it again")

    def unreachable(self, error: BaseException) -> None:
        """The replica failed a check or a read: the primary until a check finds it well again."""
        self.lag_seconds = None
        self._switch(False, f"the read replica is unreachable ({type(error).__name__}: {error})")

    async def _measure(self) -> float:
        async with self.primary.connect() as conn:
            primary = gtid_positions(await conn.scalar(text("SELECT @@gtid_binlog_pos")))
        now = time.monotonic()
        self._checks.append((now, primary))
        while self._checks and now - self._checks[0][0] > self.max_lag_seconds + self.check_seconds:
            self._checks.popleft()
        async with self.replica.connect() as conn:
            replica = gtid_positions(await conn.scalar(text("SELECT @@gtid_slave_pos")))
        for checked_at, position in reversed(self._checks):
            if has_reached(replica, position):
                return 0.0 if checked_at == now else now - checked_at
        # Behind every position still kept (or measured once only, just started): how far is unknown,
        # so it counts as beyond the bound until a later check finds a position it has reached.
        return max(now - self._checks[0][0], self.max_lag_seconds) + self.check_seconds

    def _switch(self, usable: bool, message: str) -> None:
        if usable != self.usable:
            log.warning("%s", message)
            self.usable = usable
            DB_REPLICA_IN_USE.set(int(usable))


class Replica:
    """The replica's engine (an autocommit pool of its own) and its lag (measured only where
    ``lag.start()`` runs it: the API servers; elsewhere the replica is never ``usable``)."""

    def __init__(self, engine: AsyncEngine, lag: ReplicaLag) -> None:
        self.engine = engine
        self.lag = lag

    @property
    def usable(self) -> bool:
        return self.lag.usable

    async def has_caught_up(self, primary: AsyncEngine, wait_seconds: float) -> bool:
        """Whether the replica holds everything the primary committed until now, waiting for it at
        most ``wait_seconds`` (MariaDB's MASTER_GTID_WAIT); False when the replica does not answer."""
        async with primary.connect() as conn:
            position = await conn.scalar(text("SELECT @@gtid_binlog_pos"))
        try:
            async with self.engine.connect() as conn:
                waited = await conn.scalar(
                    text("SELECT MASTER_GTID_WAIT(:position, :seconds)"),
                    {"position": position, "seconds": wait_seconds},
                )
        except DBAPIError as error:
            log.warning("the read replica did not answer (%s): reading the primary", error.orig)
            return False
        return bool(waited == 0)
