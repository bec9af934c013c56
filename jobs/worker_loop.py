"""One event loop and one pooled engine for every ``async def`` job a worker process runs.

RQ 3 runs an ``async def`` job with ``asyncio.run``: a new event loop per job, and so (a pooled
connection cannot outlive its loop) a new engine and a new MariaDB connection per job. Measured with
``make bench-jobs``, that was about 40 % of a worker's CPU per email job. ``LoopJob`` runs the job's
coroutine on the process's own loop instead, and the worker hands ``read_once`` a pooled engine that
lives as long as that loop. A job stopped by its timeout (RQ raises from a signal handler, mid-await)
leaves tasks behind: they are cancelled before the next job, so nothing of one job runs in another.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rq.job import Job

from jobs.tracing import job_span

_loop: asyncio.AbstractEventLoop | None = None


def worker_loop() -> asyncio.AbstractEventLoop:
    global _loop  # noqa: PLW0603 - one loop per worker process, made on first use
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop


def run_on_worker_loop(coroutine: Any) -> Any:
    loop = worker_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        _cancel_leftovers(loop)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = asyncio.all_tasks(loop)
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


class LoopJob(Job):
    """A job whose coroutine runs on the worker's loop (RQ's ``_execute``, with the loop swapped), in
    its span when tracing is on (jobs/tracing.py)."""

    def _execute(self) -> Any:
        if not self.func:
            raise ValueError("Cannot execute job: function is None")
        with job_span(self):
            result = self.func(*self.args, **self.kwargs)
            if asyncio.iscoroutine(result):
                return run_on_worker_loop(result)
            return result
