"""A real HTTP push gateway for the push job tests: a ``ThreadingHTTPServer`` on a free port that
records every JSON body POSTed to it and answers 200, or what a test scripted for a token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.jobs.http_server import serving


class Gateway:
    def __init__(self) -> None:
        self.url = ""
        self.received: list[dict[str, Any]] = []
        # The next answers for a token, first first; 200 once they are used up.
        self.answers: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def answer(self, payload: dict[str, Any]) -> int:
        with self._lock:
            self.received.append(payload)
            scripted = self.answers.get(str(payload.get("token")), [])
            return scripted.pop(0) if scripted else 200

    def to(self, token: str) -> list[dict[str, Any]]:
        with self._lock:
            return [payload for payload in self.received if payload.get("token") == token]


@contextmanager
def running_gateway() -> Iterator[Gateway]:
    gateway = Gateway()
    with serving(lambda _path, _headers, body: gateway.answer(json.loads(body))) as port:
        gateway.url = f"http://127.0.0.1:{port}/push"
        yield gateway
