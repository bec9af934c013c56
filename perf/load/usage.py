"""What the run's parts use over time, sampled every few seconds on one thread of the run's process: the
resident memory of each process tree (the report's RSS trend), each part's CPU (the server's workers,
the job worker, MariaDB, Redis) and the RQ queues' depths."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from jobs.queues import QUEUE_NAMES
from perf.load.rss import tree_rss_bytes


def queue_depths_reader(redis_url: str) -> Callable[[], dict[str, int]]:
    """The RQ queues' lengths (RQ keeps a queue's waiting job ids in the list ``rq:queue:<name>``)."""
    connection = redis.Redis.from_url(redis_url, socket_timeout=2)

    def read() -> dict[str, int]:
        try:
            return {name: int(connection.llen(f"rq:queue:{name}")) for name in QUEUE_NAMES}
        except redis.RedisError:  # a gap in the samples, not a failed run
            return {}

    return read


@dataclass
class UsageSampler:
    trees: dict[str, int]  # process trees whose RSS is sampled, by name: their root pid
    cpu_seconds: Callable[[], dict[str, float]]  # cumulative CPU seconds by part
    queue_depths: Callable[[], dict[str, int]]
    interval: float = 5.0
    rss: list[tuple[float, str, int]] = field(default_factory=list)  # (Unix time, tree, bytes)
    cpu: list[tuple[float, str, float]] = field(default_factory=list)  # (Unix time, part, CPU seconds)
    queues: list[tuple[float, str, int]] = field(default_factory=list)  # (Unix time, queue, jobs waiting)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            self.rss += [(now, name, tree_rss_bytes(pid)) for name, pid in self.trees.items()]
            self.cpu += [(now, part, used) for part, used in self.cpu_seconds().items()]
            self.queues += [(now, name, depth) for name, depth in self.queue_depths().items()]
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="usage-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 1)
