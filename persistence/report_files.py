"""Report files on disk, under one root (TASKQL_REPORT_ROOT), like attachments' (persistence/storage.py).

A report's files are ``<root>/<nn>/report-<id>.csv`` and ``.html``: the key is derived from the id, so a
job that runs again writes the same files. Each is written to a temporary file in its own directory,
fsynced and renamed over the old one, so a reader sees the old file or the new one, never half of it.

The methods do blocking file I/O: call them from a thread (or a job's own event loop).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from persistence.storage import fsync_dir

FORMATS = ("csv", "html")


def report_key(report_id: int) -> str:
    # A hundred directories keep any one from growing without bound.
    return f"{report_id % 100:02d}/report-{report_id}"


class ReportStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path_of(self, key: str, extension: str) -> Path:
        """Where a key's file of that format lives; ValueError for a key leading outside the root."""
        if extension not in FORMATS:
            raise ValueError(f"not a report format: {extension!r}")
        path = (self.root / f"{key}.{extension}").resolve()
        if not path.is_relative_to(self.root) or path.parent == path:
            raise ValueError(f"report key outside the root: {key!r}")
        return path

    def write(self, key: str, extension: str, data: bytes) -> Path:
        """Replaces the file atomically and durably (the directory entry is fsynced too)."""
        target = self.path_of(key, extension)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            with temporary.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        fsync_dir(target.parent)
        return target
