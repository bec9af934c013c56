"""``python -m tests.jobs.sigterm_worker POINT``: ``python -m jobs.worker`` (or ``jobs.cron``, for
the points in CRON_POINTS) that sends itself SIGTERM at one chosen point of its start-up, so a test
can land the signal exactly where timing rarely would. Python runs the handler right after
``os.kill`` returns, at that point and no other."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from rq.cron import CronScheduler

from jobs import cron, rq_adapters, worker
from jobs.schedule import Schedule

# Where the signal lands: a method of RQ's start-up, and whether before or after it runs.
POINTS: dict[str, tuple[type[Any], str, str]] = {
    # The worker registers itself in Redis (the first thing RQ's work() does).
    "registering": (rq_adapters.ResilientWorker, "register_birth", "before"),
    # The scheduler takes its locks, a pipeline of Redis commands.
    "locking": (rq_adapters.ParentBoundScheduler, "acquire_locks", "before"),
    # The scheduler has been forked; RQ's own handler is not installed yet.
    "forked": (rq_adapters.ParentBoundScheduler, "start", "after"),
}
CRON_POINTS: dict[str, tuple[type[Any], str, str]] = {
    # The cron scheduler is being built: nothing of RQ's runs yet.
    "cron-building": (Schedule, "add", "before"),
    # RQ's start() is about to install its SIGTERM handler.
    "cron-installing": (CronScheduler, "_install_signal_handlers", "before"),
    # The cron scheduler registers itself, its own SIGTERM handler already installed.
    "cron-registering": (CronScheduler, "register_birth", "before"),
}


# What it prints when it sends the signal: a test that never sees it knows the point was not reached.
SENT = "sigterm_worker: SIGTERM sent"


def _signal_self() -> None:
    print(SENT, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)


def _signalling(method: Callable[..., Any], when: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            _signal_self()
        result = method(*args, **kwargs)
        if when == "after":
            _signal_self()
        return result

    return wrapper


def main(point: str) -> int:
    owner, name, when = POINTS.get(point) or CRON_POINTS[point]
    setattr(owner, name, _signalling(getattr(owner, name), when))
    return cron.main([]) if point in CRON_POINTS else worker.main([])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
