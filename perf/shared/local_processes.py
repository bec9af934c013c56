"""What the private services and the application's processes have in common: a free loopback port,
and a binary looked up on PATH that may not be installed (a test skips then, a script stops)."""

from __future__ import annotations

import shutil
import socket


class NotInstalled(RuntimeError):
    """A binary the process needs is not on PATH."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def binary(*names: str) -> str:
    """The first of ``names`` found on PATH (a distribution ships mariadbd or mysqld, ...)."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    raise NotInstalled(f"{' or '.join(names)} is not installed")
