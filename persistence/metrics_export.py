"""Serving the metrics: one process, or the sum of several (uvicorn ``--workers N``).

prometheus-client picks its storage when its first metric is made, from ``PROMETHEUS_MULTIPROC_DIR``:
the server therefore prepares that directory (fresh, with no stale files of an earlier run) and
exports it before uvicorn starts any worker, and each worker marks itself dead on the way out, so its
``livesum`` gauges stop counting.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(base: Path | None = None) -> Path:
    """A fresh directory for this server's processes, exported to them through the environment."""
    parent = base if base is not None else Path(tempfile.gettempdir())
    directory = parent / f"taskql-metrics-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class _ProcessMetrics(Collector):
    """This process's default registry, as one collector among the scrape's own."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry(*collectors: Collector) -> CollectorRegistry:
    """The registry ``/metrics`` renders: every process's metrics (or this process's), plus
    ``collectors`` read at scrape time by the process that serves the scrape only."""
    registry = CollectorRegistry()
    if is_multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
    else:
        registry.register(_ProcessMetrics())
    for collector in collectors:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def mark_this_process_dead() -> None:
    """A worker leaving: its live gauges no longer count (its counters and histograms still do)."""
    if is_multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped in prometheus-client
