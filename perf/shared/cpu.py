"""CPU seconds per process from Linux's /proc, to show where a bench's machine time went."""

from __future__ import annotations

import os
from pathlib import Path

SERVICES = ("mariadbd", "mysqld", "redis-server")


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far; 0 when it is gone."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """CPU of one thread of ``pid`` so far (a MariaDB connection's thread), to the nanosecond: its
    few milliseconds would be lost in /proc's 10 ms clock ticks. 0 when it is gone."""
    try:
        on_cpu_ns = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0]
    except OSError:
        return 0.0
    return int(on_cpu_ns) / 1e9


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (uvicorn's workers under its supervisor), by scanning /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of process group ``group``, by scanning /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, process_group = _stat_fields(int(entry.name))[:3]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(process_group) == group and state != "Z":
            found.append(int(entry.name))
    return sorted(found)


def service_pids() -> dict[str, int]:
    """MariaDB's and Redis's processes, found by name: the machine's other users of CPU here."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name in SERVICES:
            found.setdefault(name, int(entry.name))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot (all processes, this bench's and others')."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    # guest time is already counted in user time: only the first eight fields are summed.
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
