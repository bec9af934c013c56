"""Which MariaDB threads work for one server process, so that MariaDB's CPU is counted for that server
alone on a machine whose MariaDB serves other clients too.

MariaDB runs one thread per connection and names it in the processlist's ``TID`` column; the server's
connections are found from /proc: its sockets' inodes, and their ports in the network tables.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from perf.shared.cpu import thread_cpu_seconds

_ESTABLISHED = "01"


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = descriptor.readlink().name
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target.removeprefix("socket:[").removesuffix("]")))
    return inodes


def _port(address: str) -> int:
    # "0100007F:C0DE": the address, then the port, both in hex.
    return int(address.rsplit(":", 1)[1], 16)


def local_ports_to(pid: int, remote_port: int) -> set[int]:
    """The local ports of ``pid``'s open TCP connections to ``remote_port`` (IPv4 or IPv6)."""
    inodes = _socket_inodes(pid)
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
            if inode in inodes and state == _ESTABLISHED and _port(remote) == remote_port:
                ports.add(_port(local))
    return ports


class ConnectionThreads:
    """The MariaDB threads of one client process's connections, the processlist read (through
    ``probe``, a connection of this process) only when the client has a connection not seen before:
    a connection keeps its thread while it is open, and polling the processlist ten times a second
    met a MariaDB 10.11.19 crash (signal 11) twice. A port closed and reused by a new connection
    between two looks would keep the old thread; at 0.1 s apart, the kernel does not reuse it."""

    def __init__(self, probe: AsyncConnection, client_pid: int, mariadb_port: int) -> None:
        self.probe = probe
        self.client_pid = client_pid
        self.mariadb_port = mariadb_port
        self._thread_of_port: dict[int, int] = {}

    async def current(self) -> frozenset[int]:
        ports = local_ports_to(self.client_pid, self.mariadb_port)
        for closed in self._thread_of_port.keys() - ports:
            del self._thread_of_port[closed]
        if not ports <= self._thread_of_port.keys():
            rows = await self.probe.execute(text("SELECT HOST, TID FROM information_schema.PROCESSLIST"))
            for host, tid in rows:
                _, _, port = str(host).rpartition(":")
                if port.isdigit() and int(port) in ports:
                    self._thread_of_port[int(port)] = int(tid)
        return frozenset(self._thread_of_port.values())


class ThreadLedger:
    """The CPU of the threads serving one client over a stretch of time, each from the first to the
    last time it was seen serving it: observed often, a connection the pool opens or closes meanwhile
    counts for the time it was seen, and a thread's earlier work for other connections (MariaDB
    reuses threads) does not."""

    def __init__(self, mariadb_pid: int) -> None:
        self.mariadb_pid = mariadb_pid
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def observe(self, tids: frozenset[int]) -> None:
        for tid in tids:
            used = thread_cpu_seconds(self.mariadb_pid, tid)
            self._first.setdefault(tid, used)
            self._last[tid] = used

    @property
    def threads(self) -> int:
        return len(self._first)

    def seconds(self) -> float:
        return sum(self._last[tid] - self._first[tid] for tid in self._first)
