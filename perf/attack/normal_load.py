"""The attack bench's normal load: virtual users running trusted read documents at a fixed rate.

An open loop: request ``k`` is due at ``start + k / rate`` whether or not earlier ones have been
answered, and its latency is counted from that due time (a server that falls behind shows it, no
coordinated omission). Requests go round robin over the users, and each user cycles through its
screens (board, task, dashboard, ...) by ``documentId``, over a few keep-alive connections of its own
that carry its bearer token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import orjson

from perf.attack.world import NormalUser
from perf.shared.keepalive import KeepAlive

CONNECTIONS_PER_USER = 2
REQUEST_TIMEOUT_SECONDS = 15.0
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Not an HTTP status: the request got no answer (timed out, or the connection broke).
NO_ANSWER = 0


@dataclass(frozen=True)
class Answer:
    phase: str
    operation: str
    status: int
    code: str | None  # the first error's ``extensions.code``; None for a clean answer
    latency_ms: float

    @property
    def failed(self) -> bool:
        return self.status != 200 or self.code is not None


@dataclass(frozen=True)
class _Due:
    phase: str
    operation: str
    body: bytes
    due: float


def error_code(raw: bytes) -> str | None:
    """The first GraphQL error's code in an answer's body, None when it has none."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "NOT_JSON"
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not errors:
        return None
    return str((errors[0].get("extensions") or {}).get("code", "NO_CODE"))


def request_headers(credentials: dict[str, str]) -> dict[str, str]:
    """JSON in, and the GraphQL-over-HTTP answers whose status says what happened."""
    return {**credentials, "Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}


async def post(connection: KeepAlive, body: bytes) -> tuple[int, str | None]:
    """One request: its status and error code; (NO_ANSWER, "NO_ANSWER") when none came in time."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
            status, raw = await connection.post(body)
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        connection.close()  # a half-read answer would be read as the next request's
        return NO_ANSWER, "NO_ANSWER"
    return status, error_code(raw)


class NormalLoad:
    """The users' connections and answers across phases: each phase offers the same rate and adds
    its answers, labelled with the phase's name."""

    def __init__(self, url: str, users: list[NormalUser]) -> None:
        self._bodies = [
            [(document_id, orjson.dumps({"documentId": document_id, "variables": variables}))
             for document_id, variables in user.requests]
            for user in users
        ]  # fmt: skip
        self._queues: list[asyncio.Queue[_Due]] = [asyncio.Queue() for _ in users]
        self._connections = [
            [KeepAlive(url, request_headers({"Authorization": f"Bearer {user.token}"}))
             for _ in range(CONNECTIONS_PER_USER)]
            for user in users
        ]  # fmt: skip
        self._workers: list[asyncio.Task[None]] = []
        self._ticks = 0
        self.answers: list[Answer] = []
        self.offered: dict[str, int] = {}

    def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._work(connection, queue))
            for queue, connections in zip(self._queues, self._connections, strict=True)
            for connection in connections
        ]

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for connections in self._connections:
            for connection in connections:
                connection.close()

    async def _work(self, connection: KeepAlive, queue: asyncio.Queue[_Due]) -> None:
        while True:
            item = await queue.get()
            try:
                status, code = await post(connection, item.body)
                latency = (time.perf_counter() - item.due) * 1000
                self.answers.append(Answer(item.phase, item.operation, status, code, latency))
            finally:
                queue.task_done()

    def _next(self, phase: str, due: float) -> tuple[int, _Due]:
        tick, self._ticks = self._ticks, self._ticks + 1
        user = tick % len(self._bodies)
        operation, body = self._bodies[user][(tick // len(self._bodies)) % len(self._bodies[user])]
        return user, _Due(phase, operation, body, due)

    async def offer(self, phase: str, rate: float, seconds: float) -> None:
        """Offers ``rate`` requests/s for ``seconds``, then waits (bounded) for the last answers: what
        is still unanswered then counts as offered, not answered."""
        count = round(rate * seconds)
        self.offered[phase] = count
        start = time.perf_counter() + 0.01
        for number in range(count):
            due = start + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user, item = self._next(phase, due)
            self._queues[user].put_nowait(item)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS * 2):
                await asyncio.gather(*(queue.join() for queue in self._queues))
        except TimeoutError:
            print(f"{phase}: some requests still unanswered after the drain", flush=True)
