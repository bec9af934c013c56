"""The job benchmark's receivers, on 127.0.0.1 only: each records when a delivery id first arrived
and how many times it came (a retried job delivers again under the same id)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOST = "127.0.0.1"


class Receipts:
    """Delivery id -> first receipt (``time.time()``), and the count per id. Thread-safe: the sinks
    run on threads of their own while the bench reads."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.count: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, delivery_id: str) -> None:
        at = time.time()
        with self._lock:
            self.first.setdefault(delivery_id, at)
            self.count[delivery_id] += 1

    def has_all(self, delivery_ids: Iterable[str]) -> bool:
        with self._lock:
            return all(delivery_id in self.first for delivery_id in delivery_ids)


class _SmtpHandler:
    def __init__(self, receipts: Receipts) -> None:
        self.receipts = receipts
        # Headers only: the body is not what is measured.
        self.parser = BytesHeaderParser()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = self.parser.parsebytes(envelope.content)
        self.receipts.record(str(headers["Message-ID"]))
        return "250 Message accepted"


@contextmanager
def smtp_sink(receipts: Receipts, port: int) -> Iterator[int]:
    """An SMTP server (aiosmtpd) keyed by Message-ID; yields its port."""
    controller = Controller(_SmtpHandler(receipts), hostname=HOST, port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _http_app(receipts: Receipts) -> Starlette:
    """``POST /push``: a push gateway, keyed by the JSON body's ``delivery_id``; ``POST /webhook``: a
    webhook receiver, keyed by the ``Taskql-Delivery`` header. Both answer 200 with no body."""

    async def push(request: Request) -> Response:
        receipts.record(str((await request.json())["delivery_id"]))
        return Response(status_code=200)

    async def webhook(request: Request) -> Response:
        await request.body()
        receipts.record(request.headers["taskql-delivery"])
        return Response(status_code=200)

    return Starlette(
        routes=[Route("/push", push, methods=["POST"]), Route("/webhook", webhook, methods=["POST"])]
    )


@contextmanager
def http_sink(receipts: Receipts, port: int) -> Iterator[str]:
    """The push gateway and webhook receiver (uvicorn in a thread); yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(_http_app(receipts), host=HOST, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bench-http-sink", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit(f"the HTTP sink did not start on {HOST}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
