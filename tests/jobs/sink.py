"""A real SMTP server for the job tests (aiosmtpd on a free port) that can refuse a recipient for now
(451) or for good (550), hold a message before answering its DATA (so a job is deterministically
mid-send), and keeps one message per Message-ID, as a receiver that drops duplicates does."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    """An SMTP handler: keeps what it accepts; refuses a recipient's next ``n`` attempts with a 451.

    ``attempts`` counts RCPTs per address, ``deliveries`` DATAs per Message-ID (duplicates included);
    ``messages`` holds each Message-ID once, ``peers`` the client address of each DATA (one per
    connection it came over). After ``hold_next()`` the next DATA is kept, then left
    unanswered until ``release()``: the sender is mid-send, and what happens to it (killed, stopped)
    is the test's. The handlers run on the controller's thread; the test waits on ``held``."""

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.attempts: Counter[str] = Counter()
        self.deliveries: Counter[str] = Counter()
        self.peers: list[tuple[str, int]] = []
        self.refusals: dict[str, int] = {}
        self.rejections: set[str] = set()
        self.held = threading.Event()
        self._hold_next = False
        self._released = threading.Event()

    def hold_next(self) -> None:
        self.held.clear()
        self._released.clear()
        self._hold_next = True

    def release(self) -> None:
        self._released.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.attempts[address] += 1
        if address in self.rejections:
            return "550 5.1.1 no such user"
        left = self.refusals.get(address, 0)
        if left > 0:
            self.refusals[address] = left - 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message_id = str(message["Message-ID"])
        self.deliveries[message_id] += 1
        self.peers.append(tuple(session.peer))
        if self.deliveries[message_id] == 1:
            self.messages.append((list(envelope.rcpt_tos), message))
        if self._hold_next:
            self._hold_next = False
            self.held.set()
            # The release comes from the test's thread; bounded, so a forgotten release ends too.
            await asyncio.to_thread(self._released.wait, 60)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.messages if address in recipients]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_sink() -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()
