"""The subscription benchmark's clients: WebSocket subscribers that timestamp every event they get.

Each subscriber is one connection speaking graphql-transport-ws with one ``taskEvents``
subscription. The writer puts a marker (``bench <n>``) in the task's title; a subscriber reads the
marker back from the event's ``task { title }`` and records when it arrived, so the delivery
latency is measured against the moment the writer sent mutation ``n``, on the same clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

SUBSCRIPTION = (
    "subscription ($projectId: ID!) { taskEvents(projectId: $projectId) { type sequence task { title } } }"
)
MARKER = "bench "
PROTOCOL = Subprotocol("graphql-transport-ws")


def marker_title(number: int) -> str:
    return f"{MARKER}{number}"


def _marker_number(title: object) -> int | None:
    if not isinstance(title, str) or not title.startswith(MARKER):
        return None
    try:
        return int(title[len(MARKER) :])
    except ValueError:
        return None


@dataclass
class Tally:
    """What every subscriber saw, by marker: arrivals as (subscriber, perf_counter time)."""

    arrivals: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    resyncs: int = 0
    errors: list[str] = field(default_factory=list)
    closed: int = 0
    # Per subscriber, the sequences seen: holes are events missed; an arrival below the highest seen
    # is out of order (two processes' relays publish the same project's events independently).
    sequences: dict[int, set[int]] = field(default_factory=dict)
    out_of_order: int = 0

    def sequence_holes(self) -> int:
        return sum(max(seen) - min(seen) + 1 - len(seen) for seen in self.sequences.values() if seen)

    def record(self, subscriber: int, payload: dict[str, Any], now: float) -> None:
        event = (payload.get("data") or {}).get("taskEvents")
        if payload.get("errors") or event is None:
            self.errors.append(orjson.dumps(payload).decode()[:300])
            return
        if event["type"] == "RESYNC":
            self.resyncs += 1
            return
        sequence = event.get("sequence")
        if isinstance(sequence, int):
            seen = self.sequences.setdefault(subscriber, set())
            if seen and sequence < max(seen):
                self.out_of_order += 1
            seen.add(sequence)
        number = _marker_number((event.get("task") or {}).get("title"))
        if number is not None:
            self.arrivals.setdefault(number, []).append((subscriber, now))


@dataclass(frozen=True)
class Subscriber:
    number: int
    ws_url: str
    token: str
    project_global_id: str


async def _handshake(ws: ClientConnection, subscriber: Subscriber) -> None:
    await ws.send(
        orjson.dumps(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {subscriber.token}"}}
        ).decode()
    )
    ack = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=30))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"subscriber {subscriber.number}: no connection_ack but {ack}")
    await ws.send(
        orjson.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"projectId": subscriber.project_global_id}},
            }
        ).decode()
    )


async def run_subscriber(subscriber: Subscriber, tally: Tally, ready: asyncio.Event) -> None:
    """Connects, subscribes, then records every message until cancelled or closed by the server."""
    async with connect(subscriber.ws_url, subprotocols=[PROTOCOL], open_timeout=60, max_queue=None) as ws:
        await _handshake(ws, subscriber)
        ready.set()
        try:
            async for raw in ws:
                now = time.perf_counter()
                message = orjson.loads(raw)
                if message.get("type") == "next":
                    tally.record(subscriber.number, message.get("payload") or {}, now)
                elif message.get("type") in ("error", "complete"):
                    tally.errors.append(orjson.dumps(message).decode()[:300])
        except ConnectionClosed:
            pass
        tally.closed += 1
