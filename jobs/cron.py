"""``python -m jobs.cron``: the cron scheduler, a process of its own that enqueues the periodic jobs
(jobs/schedule.py) and runs none itself; ``python -m jobs.worker`` starts one beside itself.

It is a process rather than a thread of the worker because RQ's scheduler loop sleeps between ticks and
stops on SIGTERM/SIGINT through its own handlers, which only a main thread may install; and several
worker hosts may each run one, since every period's run is enqueued once (see jobs/schedule.py).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import logging.config
import os
import signal
import sys
import time

import redis
from rq.exceptions import SchedulerNotFound, StopRequested

from jobs.queues import connect, is_embedded
from jobs.rq_adapters import EarlyStop
from jobs.schedule import build_schedule
from persistence.logs import logging_config
from persistence.settings import get_settings

log = logging.getLogger("taskql.jobs.cron")
RESTART_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1  # prctl(2)


def _stop_with_parent(parent_pid: int) -> None:
    """Linux: a SIGTERM when the worker that started this process dies, however it died (SIGKILL
    too), so no scheduler outlives its worker and keeps enqueuing; then a warm stop as for any
    SIGTERM. The worker may already be gone by now: then stop at once."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:
        raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    # Until RQ's start() installs its handler, a SIGTERM would end the process with the signal's
    # default: it is recorded, and honoured once that handler is in place (jobs/rq_adapters.py).
    early_stop = EarlyStop.install()
    parser = argparse.ArgumentParser(prog="python -m jobs.cron", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--parent-pid", type=int, help="the worker that started it: stop when it dies")
    arguments = parser.parse_args(argv)
    if arguments.parent_pid is not None:
        _stop_with_parent(arguments.parent_pid)
    settings = get_settings()
    logging.config.dictConfig(logging_config(arguments.log_level, settings.resolved_log_format))
    if is_embedded(settings):
        parser.error("the embedded default (memory://) schedules inside the server: set TASKQL_REDIS_URL")
    if not settings.cron_enabled:
        parser.error("TASKQL_CRON_ENABLED is false: no periodic jobs to schedule")
    schedule = build_schedule(settings, connect(settings, for_worker=True))
    early_stop.hand_to(schedule.stop_once_started)
    names = ", ".join(job.name for job in schedule.get_jobs())
    log.info("cron scheduler %s: %s", schedule.name, names)
    while True:
        try:
            # Returns after SIGTERM or SIGINT, once the scheduler has unregistered itself.
            schedule.start()  # type: ignore[no-untyped-call]  # RQ leaves this one unannotated
            return 0
        except StopRequested:
            # RQ installs its handler before its loop's try: a SIGTERM before it or while it
            # registers ends here.
            with contextlib.suppress(SchedulerNotFound):  # none of the registration got through
                schedule.register_death()
            log.info("cron scheduler stopped while starting")
            return 0
        except redis.RedisError:
            # RQ's loop ends at the first Redis error; a host must not lose its schedule to a blip.
            log.exception("cron scheduler: Redis failed; starting again in %s s", RESTART_SECONDS)
        try:
            time.sleep(RESTART_SECONDS)
        except StopRequested:
            return 0


if __name__ == "__main__":
    sys.exit(main())
