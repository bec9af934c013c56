"""``rq_queue_depth{queue}``: the queues' lengths, read from Redis when ``/metrics`` is scraped.

A gauge set by the worker would be as old as the worker's last job; reading at scrape time is exact.
The read is bounded by a short socket timeout and fails open: Redis down means no sample (the
absence is itself alertable), never a failed scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobs.queues import QUEUE_NAMES, connect, is_embedded, queue
from persistence.settings import Settings

log = logging.getLogger("taskql.metrics")


class QueueDepthCollector(Collector):
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("rq_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        try:
            for name in QUEUE_NAMES:
                family.add_metric([name], queue(name, self.connection).count)
        except redis.RedisError as error:
            log.warning("queue depths unavailable: %s", error)
            return []
        return [family]


def queue_depth_collector(settings: Settings) -> QueueDepthCollector:
    """Over a client of its own that gives up within the redis socket timeout, without retries."""
    if is_embedded(settings):
        return QueueDepthCollector(connect(settings))
    connection = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), retries=0),
    )
    return QueueDepthCollector(connection)
