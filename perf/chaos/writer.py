"""The drill's writer: ``taskCreate`` on a fixed schedule (open loop), each with a title and an
Idempotency-Key of its own. A write that is not acknowledged (a lost connection, a 5xx, a 503 with
Retry-After) is sent again, the same body under the same key, with a backoff, until it is, or until
its attempts or its time run out. What it acknowledged is what the database must hold, once each."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx

from perf.chaos.answers import OK, Attempt, outcome_of, retryable, transport_outcome

CREATE = (
    "mutation ($input: TaskCreateInput!) "
    "{ taskCreate(input: $input) { task { id } errors { code message } } }"
)
MAX_ATTEMPTS = 40
GIVE_UP_SECONDS = 90.0
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 2.0
MAX_RETRY_AFTER = 5.0
REQUEST_TIMEOUT = 10.0


@dataclass
class Write:
    number: int
    title: str
    key: str
    started: float  # time.monotonic() of the first send
    acknowledged_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    refused: str | None = None  # a final answer that is not an acknowledgment

    @property
    def latency_ms(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.started) * 1000

    def overlaps(self, start: float, end: float) -> bool:
        """Was it pending at some moment of [start, end]?"""
        finished = self.acknowledged_at if self.acknowledged_at is not None else float("inf")
        return self.started <= end and finished >= start


def title_prefix(run: str) -> str:
    return f"chaos {run} "


def _delay(attempt: int, response: httpx.Response | None) -> float:
    """Retry-After when the server gave one, else an exponential backoff; jittered, so the writes
    an outage held back do not all come again in the same instant."""
    backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** (attempt - 1))
    if response is not None and (after := response.headers.get("retry-after", "")).isdigit():
        backoff = min(MAX_RETRY_AFTER, float(after))
    return backoff * (0.5 + random.random() / 2)


class Writer:
    def __init__(self, http: httpx.AsyncClient, token: str, project_id: str, run: str) -> None:
        self._http = http
        self._token = token
        self._project_id = project_id
        self._prefix = title_prefix(run)
        self.writes: list[Write] = []
        self.in_flight = 0  # requests sent and not yet answered
        self._pending: set[asyncio.Task[None]] = set()

    async def run(self, rate: float, stop: asyncio.Event) -> None:
        """Starts a write every 1/rate s until ``stop``; does not wait for them (see ``drain``)."""
        start = time.monotonic()
        number = 0
        while not stop.is_set():
            write = Write(number, f"{self._prefix}{number}", str(uuid.uuid4()), time.monotonic())
            self.writes.append(write)
            task = asyncio.create_task(self._deliver(write))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            number += 1
            delay = start + number / rate - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def drain(self) -> None:
        """Until every write is acknowledged, refused or given up (each is bounded in time)."""
        while self._pending:
            await asyncio.gather(*self._pending)

    async def until_in_flight(self) -> None:
        """Polls every millisecond: a write is in flight for a few of them only."""
        while self.in_flight == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.001)

    async def _deliver(self, write: Write) -> None:
        body = {
            "query": CREATE,
            "variables": {"input": {"projectId": self._project_id, "title": write.title}},
        }
        headers = {"authorization": f"Bearer {self._token}", "idempotency-key": write.key}
        while True:
            response = None
            self.in_flight += 1
            try:
                response = await self._http.post(
                    "/graphql", json=body, headers=headers, timeout=REQUEST_TIMEOUT
                )
                outcome = outcome_of(response)
                if outcome == OK and response.json()["data"]["taskCreate"]["errors"]:
                    outcome = f"refused {response.json()['data']['taskCreate']['errors'][0]['code']}"
            except httpx.TransportError as error:
                outcome = transport_outcome(error)
            finally:
                self.in_flight -= 1
            now = time.monotonic()
            write.attempts.append(Attempt(now, outcome))
            if outcome == OK:
                write.acknowledged_at = now
                return
            if not retryable(outcome):
                write.refused = outcome
                return
            if len(write.attempts) >= MAX_ATTEMPTS or now - write.started > GIVE_UP_SECONDS:
                write.refused = f"gave up after {outcome}"
                return
            await asyncio.sleep(_delay(len(write.attempts), response))
