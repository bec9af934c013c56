"""A real HTTP server receiving webhooks (stdlib ThreadingHTTPServer on a free port, in a thread).

Each path is an endpoint of its own: it verifies ``Taskql-Signature`` with the secret registered for
the path (as a receiver must: over the raw body and the timestamp), keeps every request it got, and
answers from a script: ``500`` and ``410`` answer that code, ``sleep`` waits past the webhook timeout,
and once the script is used up every request gets a 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.jobs.http_server import serving

# Longer than the worker's webhook timeout in the tests (1 s).
SLEEP_SECONDS = 1.6


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # The signature matched the path's secret over "<timestamp>.<body>".
    verified: bool
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def delivery(self) -> str:
        return self.headers["taskql-delivery"]


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers.get("taskql-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("taskql-signature", ""), f"v1={expected}")


class Receiver:
    def __init__(self) -> None:
        self.port = 0
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._scripts: dict[str, list[str]] = {}
        self._received: list[Received] = []

    def endpoint(self, path: str, secret: str, script: list[str] | None = None) -> str:
        """Registers ``path``; the URL to reach it at on 127.0.0.1."""
        with self._lock:
            self._secrets[path] = secret
            self._scripts[path] = list(script or [])
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def _next_answer(self, path: str) -> str:
        with self._lock:
            script = self._scripts.get(path, [])
            return script.pop(0) if script else "200"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        answer = self._next_answer(path)
        if answer == "sleep":
            time.sleep(SLEEP_SECONDS)
            code = 200
        else:
            code = int(answer)
        verified = verify(self._secrets.get(path, ""), headers, body)
        with self._lock:
            self._received.append(Received(path, headers, body, verified, code))
        return code


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serving(receiver.handle) as port:
        receiver.port = port
        yield receiver
