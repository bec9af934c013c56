"""A redis-server of a test's own, on a free port: stopped, frozen or killed, the shared one untouched."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen[bytes]
    arguments: list[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def restart(self) -> None:
        """Killed, then a new server on the same port: empty (nothing is persisted), as after a crash."""
        self.kill()
        self.process = _spawn(self.arguments)
        _wait_until_listening(self)


def _spawn(arguments: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - fixed arguments


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_until_listening(server: PrivateRedis, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"redis-server exited with {server.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.01)
    pytest.fail(f"redis-server did not listen on {server.port} within {timeout}s")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, on a free port; the shared one is never disturbed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    arguments = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = PrivateRedis(port, _spawn(arguments), arguments)
    try:
        _wait_until_listening(server)
        yield server
    finally:
        if server.process.poll() is None:
            server.thaw()
            server.kill()
