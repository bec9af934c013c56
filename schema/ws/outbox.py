"""One connection's outgoing frames: sent in order by one task, bounded in count and in age.

Why: a subscriber's event is sent from the task that produced it. A client that reads slowly (a
phone on a bad link, a tab in the background) fills its TCP window, and the sending task then waits
for it: its subscriptions fall behind, their queues hold memory, and a shared answer waits on the
slowest of its subscribers' sockets. With an outbox, producing a frame never waits: it is queued
for the connection's own sender. A connection whose queue holds more than ``max_frames`` frames, or
whose oldest unsent frame is older than ``max_lag_seconds``, cannot keep up; it is closed
(``SLOW_CONSUMER_CODE``) and counted, and the client reconnects and refetches, which is cheaper for
everyone than an ever-growing backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

from persistence.metrics import WEBSOCKET_SLOW_CONSUMERS

# 1013 "Try Again Later": the server ends the connection for a temporary condition. graphql-ws and
# Apollo's clients reconnect on it (they give up only on their protocol's 44xx codes), which is what
# a client that fell behind should do: reconnect, and refetch what it missed.
SLOW_CONSUMER_CODE = 1013
SLOW_CONSUMER_REASON = "Slow consumer: the connection fell too far behind"


class Outbox:
    def __init__(
        self, send_text: Callable[[str], Awaitable[None]], *, max_frames: int, max_lag_seconds: float
    ) -> None:
        self._send_text = send_text
        self.max_frames = max_frames
        self.max_lag_seconds = max_lag_seconds
        # (when queued, frame), oldest first; the head stays until it is sent.
        self._frames: deque[tuple[float, str]] = deque()
        self._queued = asyncio.Event()
        self._sent = asyncio.Event()
        # Set while at most half the bound is queued: a replay waits for it between events.
        self._roomy = asyncio.Event()
        self._roomy.set()
        # Set once the connection fell behind: what reads the client's messages ends the connection.
        self.fell_behind = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._gone = False

    def put(self, frame: str) -> None:
        """Queues the frame; never waits. Past the bounds, drops the backlog and marks the connection."""
        if self.fell_behind.is_set() or self._gone:
            return
        now = time.monotonic()
        if len(self._frames) >= self.max_frames or (
            self._frames and now - self._frames[0][0] > self.max_lag_seconds
        ):
            self._frames.clear()
            self.fell_behind.set()
            self._roomy.set()
            WEBSOCKET_SLOW_CONSUMERS.inc()
            return
        self._frames.append((now, frame))
        if len(self._frames) > self.max_frames // 2:
            self._roomy.clear()
        self._sent.clear()
        self._queued.set()
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all())

    async def _send_all(self) -> None:
        while True:
            while not self._frames:
                self._sent.set()
                self._queued.clear()
                await self._queued.wait()
            try:
                await self._send_text(self._frames[0][1])
            except Exception:
                # The client is gone (or the socket closed under us): nothing more can be sent, and
                # the handler learns of it from its own read.
                self._gone = True
                self._frames.clear()
                self._sent.set()
                self._roomy.set()
                return
            if self._frames:  # emptied meanwhile when the connection fell behind
                self._frames.popleft()
            if len(self._frames) <= self.max_frames // 2:
                self._roomy.set()

    async def room(self) -> None:
        """Until at most half the bound is queued. What produces many frames at once (a subscription
        replaying what its client missed) waits here between them, so a client that reads at its own
        pace gets them all rather than being taken for one that fell behind. Returns at once for a
        connection that is gone or fell behind: its frames are dropped anyway."""
        if self.fell_behind.is_set() or self._gone:
            return
        roomy = asyncio.ensure_future(self._roomy.wait())
        behind = asyncio.ensure_future(self.fell_behind.wait())
        try:
            await asyncio.wait((roomy, behind), return_when=asyncio.FIRST_COMPLETED)
        finally:
            roomy.cancel()
            behind.cancel()

    async def flush(self, within: float) -> None:
        """Until every queued frame went out (a closing message must not overtake them), or ``within``."""
        if not self._frames or self._sender is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._sent.wait()

    async def stop(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
