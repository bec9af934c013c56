"""A redis-server of its own, on a free port: killed, frozen or restarted under a running server
while the shared Redis (and its other users) is untouched. Nothing is persisted: a restart is empty,
as after a crash."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

from perf.shared.local_processes import binary, free_port


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen[bytes]
    arguments: list[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # a stopped (frozen) process dies of SIGKILL too
            self.process.wait(timeout=5)

    def start(self) -> None:
        """A new server on the same port, once the old one is gone."""
        self.process = _spawn(self.arguments)
        wait_until_listening(self)

    def restart(self) -> None:
        """Killed, then a new server on the same port: empty."""
        self.kill()
        self.start()

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _spawn(arguments: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - fixed arguments


def wait_until_listening(server: PrivateRedis, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {server.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"redis-server did not listen on {server.port} within {timeout}s")


def start_private_redis() -> PrivateRedis:
    """Raises NotInstalled without redis-server; the caller stops it (``kill``)."""
    arguments = [
        binary("redis-server"),
        "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    ]  # fmt: skip
    server = PrivateRedis(int(arguments[2]), _spawn(arguments), arguments)
    try:
        wait_until_listening(server)
    except BaseException:
        server.kill()
        raise
    return server
