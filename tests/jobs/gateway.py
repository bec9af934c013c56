"""A real HTTP push gateway for the push job tests: a ``ThreadingHTTPServer`` on a free port that
records every JSON body POSTed to it and answers 200, or what a test scripted for a token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = gateway.answer(json.loads(body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            """Quiet: the tests read what was received instead."""

    return Handler


@contextmanager
def running_gateway() -> Iterator[Gateway]:
    gateway = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/push"
    thread = threading.Thread(target=server.serve_forever, name="push-gateway", daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
