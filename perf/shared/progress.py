"""A line as a stage of a bench starts and one as it ends, with its elapsed seconds, so a run of
several minutes says where it is (seeding, starting servers, the timed load, the report)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stage(name: str) -> Iterator[None]:
    """``name ...`` at the start, ``name: done in N s`` at the end (``failed after N s`` when it
    raised), on stdout and flushed at once: the bench's output is often piped to a file."""
    started = time.monotonic()
    print(f"{name} ...", flush=True)
    try:
        yield
    except BaseException:
        print(f"{name}: failed after {time.monotonic() - started:.1f} s", flush=True)
        raise
    print(f"{name}: done in {time.monotonic() - started:.1f} s", flush=True)
