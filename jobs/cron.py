"""``python -m jobs.cron``: the cron scheduler, a process of its own that enqueues the periodic jobs
(jobs/schedule.py) and runs none itself; ``python -m jobs.worker`` starts one beside itself.

It is a process rather than a thread of the worker because RQ's scheduler loop sleeps between ticks and
stops on SIGTERM/SIGINT through its own handlers, which only a main thread may install; and several
worker hosts may each run one, since every period's run is enqueued once (see jobs/schedule.py).
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
import time

import redis
from rq.exceptions import StopRequested

from jobs.queues import connect, is_embedded
from jobs.schedule import build_schedule
from persistence.logs import logging_config
from persistence.settings import get_settings

log = logging.getLogger("taskql.jobs.cron")
RESTART_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.cron", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    arguments = parser.parse_args(argv)
    settings = get_settings()
    logging.config.dictConfig(logging_config(arguments.log_level, settings.resolved_log_format))
    if is_embedded(settings):
        parser.error("the embedded default (memory://) schedules inside the server: set TASKQL_REDIS_URL")
    if not settings.cron_enabled:
        parser.error("TASKQL_CRON_ENABLED is false: no periodic jobs to schedule")
    schedule = build_schedule(settings, connect(settings, for_worker=True))
    names = ", ".join(job.name for job in schedule.get_jobs())
    log.info("cron scheduler %s: %s", schedule.name, names)
    while True:
        try:
            # Returns after SIGTERM or SIGINT, once the scheduler has unregistered itself.
            schedule.start()  # type: ignore[no-untyped-call]  # RQ leaves this one unannotated
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
