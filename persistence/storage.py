"""Attachment bytes on disk, under one root.

An upload is streamed into a staging file (``<root>/.staging/<random>.part``, same file system as its
final place), hashed while it is written and fsynced when complete. It is renamed to its storage key
(``<root>/ab/cd/<32 hex>``, one per attachment, never shared) only once the write that records it is
about to commit, and removed again if that write did not commit. Keys are made here, never taken from a
client, and every path is checked to stay inside the root.

The methods do blocking file I/O: call them from a thread.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

STAGING = ".staging"
_KEY_HEX = 32


class FileTooLarge(Exception):
    """A staging file would pass its limit; what it had is gone."""


class StagingFile:
    """A file being received: written, hashed and counted in one pass, never past ``limit`` bytes."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def write(self, data: bytes) -> int:
        if self._fd is None:
            raise ValueError("the staging file is closed")
        if self.size + len(data) > self.limit:
            self.discard()
            raise FileTooLarge(f"larger than {self.limit} bytes")
        self._hash.update(data)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)
        return len(data)

    def seek(self, offset: int) -> int:
        # starlette's multipart parser rewinds a finished file part; this file is only appended to.
        return offset

    def finish(self) -> None:
        """Durable on disk, and closed."""
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Closes and removes the file; harmless when done before or after it was placed."""
        self.close()
        self.path.unlink(missing_ok=True)


class FileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.staging_dir = self.root / STAGING

    @staticmethod
    def new_key() -> str:
        digits = secrets.token_hex(_KEY_HEX // 2)
        return f"{digits[:2]}/{digits[2:4]}/{digits}"

    def stage(self, limit: int) -> StagingFile:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        return StagingFile(self.staging_dir / f"{secrets.token_hex(16)}.part", limit)

    def path_of(self, key: str) -> Path:
        """Where a key's bytes live; ValueError for a key that would lead outside the root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path.is_relative_to(self.staging_dir) or path == self.root:
            raise ValueError(f"storage key outside the root: {key!r}")
        return path

    def place(self, staged: StagingFile, key: str) -> None:
        """Moves a finished staging file to its key, durably (the directory entry is fsynced too)."""
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        fsync_dir(target.parent)

    def remove(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
