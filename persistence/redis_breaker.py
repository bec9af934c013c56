"""The process's one Redis circuit breaker, shared by every user of Redis on a request path.

Redis frozen (connections open, nothing answering) costs each call the socket timeout. Whichever user
meets it first (the cache, the rate limiter, login throttling, the relay, a job's enqueue) opens the
breaker for the whole process: every later call skips Redis at once and takes its user's fallback, where
a breaker per user let each find the outage on its own, a timeout each, in the same request.

A call already waiting on Redis when another opens the breaker gives up then too (``waiting``): the
outage costs every request at most one socket timeout from its start, not one from each request's.

Once the cooldown has passed a single call is let through as the probe; the others keep skipping
until it answers (a success closes the breaker, a failure opens it for another cooldown) or, should it
never report (cancelled), until another cooldown has passed and the next call probes.

An outage is logged twice, whatever its length: a warning when it opens, naming who noticed, and an
info at the first success after it (not a line per request, nor one per cooldown).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from persistence.metrics import REDIS_BREAKER_OPEN, REDIS_BREAKER_OPENINGS

log = logging.getLogger(__name__)


class RedisBreaker:
    def __init__(self, cooldown_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._outage_since: float | None = None
        # While in an outage: calls skip Redis until then (the cooldown, or a probe's lease).
        self._skip_until = 0.0
        # The calls waiting on Redis now, each under a timeout the opening brings forward.
        self._waiting: set[asyncio.Timeout] = set()

    def view(self, subject: str) -> BreakerView:
        """The breaker as one user sees it: the same state, its own name in logs and metrics."""
        return BreakerView(self, subject)

    @property
    def is_open(self) -> bool:
        """Whether a call now would skip Redis (asking changes nothing, unlike ``allows``)."""
        return self._outage_since is not None and self._clock() < self._skip_until

    @property
    def is_closed(self) -> bool:
        """No outage known: neither open nor waiting for a probe."""
        return self._outage_since is None

    def allows(self) -> bool:
        """Whether this call may go to Redis; past the cooldown, True for one caller only (the probe)."""
        if self._outage_since is None:
            return True
        now = self._clock()
        if now < self._skip_until:
            return False
        self._skip_until = now + self.cooldown_seconds
        return True

    def waiting(self) -> Waiting:
        """Around a call to Redis: should the breaker open meanwhile, the call ends at once with a
        TimeoutError (an OSError, as a socket timeout would be) instead of waiting out its own."""
        return Waiting(self._waiting)

    def record_failure(self, subject: str) -> None:
        now = self._clock()
        if self._waiting:
            expired = asyncio.get_running_loop().time()
            for timeout in self._waiting:
                if timeout.when() is None:  # not cut short already (rescheduling one expiring raises)
                    timeout.reschedule(expired)
        if self._outage_since is None:
            self._outage_since = now
            REDIS_BREAKER_OPENINGS.labels(subject).inc()
            REDIS_BREAKER_OPEN.set(1)
            log.warning(
                "Redis unavailable (noticed by %s); every user skips it for %g s at a time: the cache "
                "serves from the database, budgets are this process's, logins go unthrottled, events and "
                "jobs wait for the relay's sweep",
                subject,
                self.cooldown_seconds,
            )
        self._skip_until = now + self.cooldown_seconds

    def record_success(self, subject: str) -> None:
        if self._outage_since is not None:
            log.info(
                "Redis available again (noticed by %s) after %.1f s",
                subject,
                self._clock() - self._outage_since,
            )
            self._outage_since = None
            REDIS_BREAKER_OPEN.set(0)
        self._skip_until = 0.0


class Waiting:
    """``asyncio.timeout`` without a deadline until the breaker opens: no task per call, and the
    cancellation stays inside the call (redis-py drops a connection cancelled mid-reply)."""

    __slots__ = ("_timeout", "_waiting")

    def __init__(self, waiting: set[asyncio.Timeout]) -> None:
        self._waiting = waiting
        self._timeout = asyncio.timeout(None)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()
        self._waiting.add(self._timeout)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._waiting.discard(self._timeout)
        await self._timeout.__aexit__(kind, error, trace)


@dataclass(frozen=True)
class BreakerView:
    breaker: RedisBreaker
    subject: str  # who is calling, in the words of the log: "cache", "rate limiter", ...

    @property
    def cooldown_seconds(self) -> float:
        return self.breaker.cooldown_seconds

    @property
    def is_open(self) -> bool:
        return self.breaker.is_open

    @property
    def is_closed(self) -> bool:
        return self.breaker.is_closed

    def allows(self) -> bool:
        return self.breaker.allows()

    def waiting(self) -> Waiting:
        return self.breaker.waiting()

    def record_failure(self) -> None:
        self.breaker.record_failure(self.subject)

    def record_success(self) -> None:
        self.breaker.record_success(self.subject)
