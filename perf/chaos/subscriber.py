"""The drill's subscriber: one ``taskEvents`` subscription over graphql-transport-ws that remembers
every sequence it received, across all its connections. When its connection ends (a crash, an
outage, or ``resume`` after a fault) it connects again and asks to resume after the last sequence it
received; what it never received, the ledger counts as missed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = (
    "subscription ($projectId: ID!, $afterSequence: Int) "
    "{ taskEvents(projectId: $projectId, afterSequence: $afterSequence) { type sequence } }"
)
OPEN_TIMEOUT = 10.0
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 2.0


class Refused(Exception):
    """The server did not acknowledge the connection."""


class Subscriber:
    def __init__(self, ws_url: str, token: str, project_id: str) -> None:
        self._url = ws_url
        self._token = token
        self._project_id = project_id
        self._connection: ClientConnection | None = None
        self.received: list[int] = []  # every sequence, in arrival order, over all connections
        self.last: int | None = None
        self.resyncs: list[float] = []  # time.monotonic() of each RESYNC
        self.subscribed_at: list[float] = []  # each successful (re)subscription
        self.errors: list[str] = []

    def duplicates(self) -> int:
        return len(self.received) - len(set(self.received))

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribes, and again whenever the connection ends, until ``stop``."""
        backoff = FIRST_BACKOFF
        while not stop.is_set():
            try:
                async with connect(self._url, subprotocols=[PROTOCOL], open_timeout=OPEN_TIMEOUT) as ws:
                    self._connection = ws
                    await self._subscribe(ws)
                    backoff = FIRST_BACKOFF
                    await self._listen(ws)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, Refused) as error:
                self.errors.append(f"{type(error).__name__}: {error}"[:200])
            finally:
                self._connection = None
            if not stop.is_set():
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)

    async def resume(self) -> None:
        """Ends the current connection: the next one resumes after the last sequence received."""
        if self._connection is not None:
            await self._connection.close()

    async def until_received(self, sequence: int) -> None:
        """Polls: events arrive on a connection this object does not wait on."""
        while (self.last or 0) < sequence:  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    async def _send(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        await ws.send(orjson.dumps(message).decode())

    async def _subscribe(self, ws: ClientConnection) -> None:
        await self._send(
            ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {self._token}"}}
        )
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        if ack.get("type") != "connection_ack":
            raise Refused(f"no connection_ack but {ack}")
        # 0 the first time: the project's whole history, so the ledger can ask for every sequence.
        variables = {"projectId": self._project_id, "afterSequence": self.last or 0}
        await self._send(
            ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": variables}}
        )
        self.subscribed_at.append(time.monotonic())

    async def _listen(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = orjson.loads(raw)
            if message.get("type") == "next":
                self._record(message.get("payload") or {})
            elif message.get("type") in ("error", "complete"):
                # The subscription ended (an outage met at subscribe time, say): subscribe again.
                self.errors.append(orjson.dumps(message).decode()[:200])
                return

    def _record(self, payload: dict[str, Any]) -> None:
        event = (payload.get("data") or {}).get("taskEvents")
        if payload.get("errors") or event is None:
            self.errors.append(orjson.dumps(payload).decode()[:200])
            return
        if event["type"] == "RESYNC":
            self.resyncs.append(time.monotonic())
            return
        sequence = event["sequence"]
        self.received.append(sequence)
        self.last = sequence if self.last is None else max(self.last, sequence)
