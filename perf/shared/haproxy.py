"""A real HAProxy in front of API processes on loopback: the balancer a fleet runs behind. Its config
is written to a directory of the caller's (short: it holds the stats socket), it listens on a free
port, picks the server with the fewest connections, takes a server out when its /readyz fails and
keeps WebSockets open as long as they live. ``status`` reads what HAProxy thinks of each server."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perf.shared.local_processes import binary, free_port

STOP_SECONDS = 5.0
# A server is marked down after two failed checks 300 ms apart: a killed process leaves the pool
# within a second, while one slow answer does not take a live one out.
CONFIG = """\
global
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # An upgraded connection (a subscription) lives as long as its client keeps it.
    timeout tunnel 1h
    timeout client-fin 5s
    # A connection refused by a dead server is tried once more, on another server.
    retries 1
    option redispatch

frontend api
    bind 127.0.0.1:{port}
    default_backend servers

backend servers
    balance leastconn
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 300ms fall 2 rise 1
{servers}
"""


@dataclass
class HAProxy:
    port: int
    process: subprocess.Popen[bytes]
    socket_path: Path
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def status(self) -> dict[str, str]:
        """Each server's state by name (``UP``, ``DOWN``, ``UP 1/2``...)."""
        return {row["svname"]: row["status"] for row in self._server_rows()}

    def sessions(self) -> dict[str, int]:
        """Each server's requests in progress by name: what a kill "mid-request" waits for."""
        return {row["svname"]: int(row["scur"]) for row in self._server_rows()}

    def _server_rows(self) -> list[dict[str, str]]:
        """The backend's servers' rows of ``show stat``, from the stats socket."""
        with socket.socket(socket.AF_UNIX) as stats:
            stats.connect(str(self.socket_path))
            stats.sendall(b"show stat\n")
            chunks = []
            while chunk := stats.recv(65536):
                chunks.append(chunk)
        lines = b"".join(chunks).decode().splitlines()
        header = lines[0].removeprefix("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return [
            row for row in rows if row["pxname"] == "servers" and row["svname"] not in ("BACKEND", "FRONTEND")
        ]

    def until_status(self, wanted: dict[str, str], seconds: float) -> None:
        """Raises TimeoutError, with the last status seen, unless HAProxy reaches ``wanted`` in time."""
        deadline = time.monotonic() + seconds
        while (seen := self.status()) != wanted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"HAProxy's servers are {seen}, not {wanted}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)


def write_config(directory: Path, port: int, servers: Sequence[tuple[str, int]]) -> Path:
    """``servers``: (name, loopback port) pairs, each checked on /readyz."""
    lines = "\n".join(f"    server {name} 127.0.0.1:{server_port} check" for name, server_port in servers)
    config = directory / "haproxy.cfg"
    config.write_text(CONFIG.format(socket=directory / "haproxy.sock", port=port, servers=lines))
    return config


def start_haproxy(
    directory: Path, servers: Sequence[tuple[str, int]], startup_seconds: float = 10
) -> HAProxy:
    """HAProxy in the foreground, listening once this returns, with every server UP (each passed its
    first /readyz). Raises RuntimeError, with HAProxy's output, when it exits or is not up in time;
    NotInstalled without the binary."""
    port = free_port()
    config = write_config(directory, port, servers)
    log = directory / "haproxy.log"
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - a binary from PATH, our own config, no shell
            [binary("haproxy"), "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    balancer = HAProxy(port, process, directory / "haproxy.sock", log)
    all_up = {name: "UP" for name, _ in servers}
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"HAProxy exited with {process.returncode}:\n{balancer.output()}")
        try:
            if balancer.status() == all_up:
                return balancer
        except OSError:
            pass  # the stats socket is not there yet
        time.sleep(0.1)
    balancer.stop()
    raise RuntimeError(f"HAProxy's servers not all up within {startup_seconds} s:\n{balancer.output()}")
