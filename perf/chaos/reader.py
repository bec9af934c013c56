"""The drill's reader: a page of the project's tasks a few times a second, one request at a time,
each answer counted (a read is not retried: the next one is the retry)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from perf.chaos.answers import Attempt, outcome_of, transport_outcome

TASKS = "query ($id: ID!) { project(id: $id) { tasks(first: 10) { totalCount nodes { title } } } }"
REQUEST_TIMEOUT = 10.0


class Reader:
    def __init__(self, http: httpx.AsyncClient, token: str, project_id: str) -> None:
        self._http = http
        self._body = {"query": TASKS, "variables": {"id": project_id}}
        self._headers = {"authorization": f"Bearer {token}"}
        self.reads: list[Attempt] = []

    async def run(self, rate: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = await self._http.post(
                    "/graphql", json=self._body, headers=self._headers, timeout=REQUEST_TIMEOUT
                )
                outcome = outcome_of(response)
            except httpx.TransportError as error:
                outcome = transport_outcome(error)
            self.reads.append(Attempt(time.monotonic(), outcome))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, started + 1 / rate - time.monotonic()))
