"""The subscription benchmark's writer: ``taskUpdate`` mutations on a fixed schedule (open loop).

Each update is due at its own time whether or not earlier ones have answered, and its latency is
counted from that time, so a server that falls behind shows it in the figures (no coordinated
omission). Requests go over a few raw keep-alive HTTP/1.1 connections per server: httpx's pool
costs the benchmark's own process more CPU than the servers it measures once requests queue.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson

from perf.shared.keepalive import KeepAlive
from perf.subscriptions.subscribers import marker_title
from schema.core.ids import encode_id

UPDATE = (
    "mutation ($input: TaskUpdateInput!) { taskUpdate(input: $input) "
    "{ task { version } errors { code message } } }"
)
CONNECTIONS_PER_SERVER = 16


@dataclass
class TaskState:
    task_id: int
    version: int


@dataclass(frozen=True)
class Update:
    number: int  # the marker the subscribers read back
    due: float  # perf_counter time it was scheduled for
    task: TaskState
    project_id: int


@dataclass
class Writes:
    """Per marker, when it was due and which project it went to; latencies and failures."""

    due_at: dict[int, float] = field(default_factory=dict)
    project_of: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # The markers whose update committed: only those make events to deliver.
    succeeded: set[int] = field(default_factory=set)


async def _send(connection: KeepAlive, update: Update, writes: Writes) -> None:
    body = orjson.dumps(
        {
            "query": UPDATE,
            "variables": {
                "input": {
                    "id": encode_id("Task", update.task.task_id),
                    "version": update.task.version,
                    "title": marker_title(update.number),
                }
            },
        }
    )
    try:
        status, raw = await connection.post(body)
        payload = orjson.loads(raw)
    except (OSError, asyncio.IncompleteReadError, orjson.JSONDecodeError) as exc:
        writes.failures.append(f"{update.number}: {exc!r}")
        return
    writes.latencies_ms.append((time.perf_counter() - update.due) * 1000)
    result = (payload.get("data") or {}).get("taskUpdate")
    if status != 200 or result is None or result["errors"]:
        writes.failures.append(f"{update.number}: {status} {raw[:300]!r}")
        return
    update.task.version = result["task"]["version"]
    writes.succeeded.add(update.number)


async def _worker(connection: KeepAlive, queue: asyncio.Queue[Update | None], writes: Writes) -> None:
    while (update := await queue.get()) is not None:
        await _send(connection, update, writes)


async def write(urls: list[str], token: str, updates: list[Update], writes: Writes) -> None:
    """Sends every update at its due time, round robin over the servers, then waits for the answers."""
    queues: list[asyncio.Queue[Update | None]] = [asyncio.Queue() for _ in urls]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connections = [[KeepAlive(url, headers) for _ in range(CONNECTIONS_PER_SERVER)] for url in urls]
    workers = [
        asyncio.create_task(_worker(connection, queue, writes))
        for queue, server in zip(queues, connections, strict=True)
        for connection in server
    ]
    try:
        for index, update in enumerate(updates):
            delay = update.due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writes.due_at[update.number] = update.due
            writes.project_of[update.number] = update.project_id
            queues[index % len(queues)].put_nowait(update)
        for queue in queues:
            for _ in range(CONNECTIONS_PER_SERVER):
                queue.put_nowait(None)
        await asyncio.gather(*workers)
    finally:
        for server in connections:
            for connection in server:
                connection.close()
