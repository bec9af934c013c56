"""Load shedding for GraphQL over HTTP: graceful degradation under more load than the process can serve.

Each process runs at most ``max_requests_in_flight`` GraphQL requests at once. A request that finds
them all taken waits for one, in arrival order, behind at most ``max_requests_waiting`` others and for
at most ``admission_wait_ms``; otherwise it is answered at once with 503 ``OVERLOADED`` and
``Retry-After``, before its token, document or budget cost anything.

Why: the work is CPU-bound on one event loop per process. Past a point, more concurrent requests add
latency to every one of them and no throughput: under the stress scenario without this, every request
waited until the 10 s execution timeout (504). Refusing the surplus keeps the admitted requests near
their targets and tells clients when to come back. A slot is taken once the request's body is read
(a client sending slowly must not hold one), and uploads, health, metrics and WebSockets take none.
Auth operations (logins, token refreshes) wait in a lane of their own: schema/guard/lanes.py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from persistence.metrics import GRAPHQL_SHED
from persistence.settings import Settings
from schema.core.request import RequestError

RETRY_AFTER_SECONDS = 1


def overloaded(reason: str) -> RequestError:
    message = f"the server is at capacity ({reason}); retry in {RETRY_AFTER_SECONDS} s"
    return RequestError(503, "OVERLOADED", message, {"Retry-After": str(RETRY_AFTER_SECONDS)})


class Admission:
    def __init__(self, max_in_flight: int, max_waiting: int, wait_seconds: float) -> None:
        self.max_in_flight = max_in_flight
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        # A waiter's future is given a slot (its result set) by the request that frees one.
        self._waiters: deque[asyncio.Future[None]] = deque()

    @classmethod
    def from_settings(cls, settings: Settings) -> Admission:
        return cls(
            settings.max_requests_in_flight,
            settings.max_requests_waiting,
            settings.admission_wait_ms / 1000,
        )

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Holds one of the process's slots for the request; RequestError 503 when none comes."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.max_waiting:
            GRAPHQL_SHED.labels("queue_full").inc()
            raise overloaded("too many requests waiting")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.wait_seconds)
        except BaseException as error:
            # The slot may have been handed over just as the wait ended (time ran out, or the client
            # went away): keep it on a timeout, give it back otherwise.
            handed = waiter.done() and not waiter.cancelled()
            if not handed:
                with suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                if handed:
                    return
                GRAPHQL_SHED.labels("wait_timeout").inc()
                raise overloaded("no slot freed in time") from None
            if handed:
                self._release()
            raise

    def _release(self) -> None:
        """Hands the slot to the first waiter still waiting, or frees it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1
