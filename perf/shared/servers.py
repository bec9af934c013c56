"""Real uvicorn processes for the two apps, started the same way (workers, loop, parser, no access
log), optionally pinned to a CPU so the load generator does not steal their time."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from perf.shared.config import HOST, BenchEnvironment
from persistence.logs import logging_config

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class ServerSpec:
    name: str
    app: str  # an import string for `uvicorn --factory`
    port: int


@dataclass
class Server:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.spec.port}"


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """``command`` under ``taskset -c cpus`` when both are available (taskset execs: same pid)."""
    taskset = shutil.which("taskset")
    if cpus is None or taskset is None:
        return command
    return [taskset, "-c", cpus, *command]


def _command(spec: ServerSpec, workers: int, profile: Path | None, log_config: Path) -> list[str]:
    # Under cProfile the one worker is the profiled process itself (uvicorn serves in-process with
    # --workers 1); the profile is written when SIGTERM ends it cleanly.
    profiler = [] if profile is None else ["-m", "cProfile", "-o", str(profile)]
    return [
        sys.executable, *profiler, "-m", "uvicorn", spec.app, "--factory",
        "--host", HOST, "--port", str(spec.port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-config", str(log_config),
    ]  # fmt: skip


def _write_log_config(logs: Path) -> Path:
    """The JSON logs `python -m schema serve` has, at WARNING: slow queries arrive with their statement
    and request id, and nothing is logged per request."""
    path = logs / "log-config.json"
    path.write_bytes(orjson.dumps(logging_config("WARNING")))
    return path


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.spec.name} exited at start:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.spec.name} did not answer /healthz within {STARTUP_SECONDS:.0f} s")


def _stop(server: Server, stop_signal: signal.Signals) -> None:
    """Only the process this module started, by its pid: ``stop_signal``, then SIGKILL if it hangs."""
    if server.process.poll() is None:
        server.process.send_signal(stop_signal)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


def _refuse_taken_port(spec: ServerSpec) -> None:
    """A server still up from an earlier run would answer /healthz in place of ours (with another
    JWT secret): stop at once rather than measure it."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((HOST, spec.port)) == 0:
            raise RuntimeError(f"port {spec.port} for {spec.name} is taken: is an earlier run still up?")


@contextmanager
def running(
    specs: list[ServerSpec],
    environment: BenchEnvironment,
    *,
    workers: int,
    cpus: str | None,
    logs: Path,
    profile: Path | None = None,
) -> Iterator[dict[str, Server]]:
    """Starts every server, waits until each answers, and stops them all on the way out. With
    ``profile`` (one server, one worker) the server runs under cProfile and writes it there."""
    if profile is not None and (workers != 1 or len(specs) != 1):
        raise ValueError("a profiled run has one server with one worker")
    logs.mkdir(parents=True, exist_ok=True)
    log_config = _write_log_config(logs)
    started: dict[str, Server] = {}
    try:
        for spec in specs:
            _refuse_taken_port(spec)
            log = logs / f"{spec.name}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    pinned(_command(spec, workers, profile, log_config), cpus),
                    cwd=REPO,  # `schema` must be ours, not the PyPI package of that name
                    env=environment.process_environment(),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            started[spec.name] = Server(spec, process, log)
        for server in started.values():
            _wait_ready(server)
        yield started
    finally:
        # uvicorn re-raises the signal it stopped on once it is done: SIGTERM would then end the
        # process before cProfile writes, SIGINT ends it with KeyboardInterrupt, which lets it write.
        stop_signal = signal.SIGTERM if profile is None else signal.SIGINT
        for server in started.values():
            _stop(server, stop_signal)
