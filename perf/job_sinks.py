"""The job benchmark's receivers, on 127.0.0.1 only: each records when a delivery id first arrived
and how many times it came (a retried job delivers again under the same id)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller

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

    def received(self) -> int:
        with self._lock:
            return len(self.first)


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
