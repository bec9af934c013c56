"""The server's `/metrics` read at a run's start and end: every sample as a number, and what changed
between the two reads (counters and histogram sums and counts, all processes together)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

# A sample's name with its labels, sorted: ("cache_hits_total", (("data_type", "session"),)).
SampleKey = tuple[str, tuple[tuple[str, str], ...]]
Metrics = dict[SampleKey, float]


def parse(text: str) -> Metrics:
    metrics: Metrics = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            metrics[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return metrics


def scrape(base_url: str) -> Metrics | None:
    """None when the server has no `/metrics` (the report then leaves those figures out)."""
    try:
        response = httpx.get(f"{base_url}/metrics", timeout=10.0)
    except httpx.TransportError:
        return None
    return parse(response.text) if response.status_code == 200 else None


def delta(start: Metrics, end: Metrics) -> Metrics:
    return {key: value - start.get(key, 0.0) for key, value in end.items()}


def by_label(metrics: Metrics, name: str, label: str) -> dict[str, float]:
    """The samples named ``name`` summed per value of ``label``."""
    totals: dict[str, float] = {}
    for (sample_name, labels), value in metrics.items():
        if sample_name == name:
            key = dict(labels).get(label, "")
            totals[key] = totals.get(key, 0.0) + value
    return totals
