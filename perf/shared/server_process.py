"""A real server process (`python -m schema serve`) for whatever is about processes: crashes,
restarts, several servers side by side. Started on a free port (or a given one, to come back where a
killed one was), waited on /healthz; the caller stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from perf.shared.local_processes import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing after the signal runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    log: Path,
    environment: dict[str, str],
    startup_seconds: float = 60,
    arguments: Sequence[str] = (),
    port: int | None = None,
) -> ServerProcess:
    """``environment`` holds the TASKQL_ settings (and any other variable the process should see);
    the caller's own TASKQL_ variables are not inherited. ``arguments`` follow ``serve``. Raises
    RuntimeError, with the server's output, when it exits or is not healthy in time."""
    port = free_port() if port is None else port
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {"TASKQL_HOST": "127.0.0.1", "TASKQL_PORT": str(port), **environment}
    with log.open("ab") as out:
        command = [sys.executable, "-m", "schema", "serve", *arguments]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our interpreter, no shell
    server = ServerProcess(f"http://127.0.0.1:{port}", port, process, log)
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"not healthy within {startup_seconds} s:\n{server.output()}")
