"""The per-process window: one-second slots over the last minute, fixed buckets, interpolated percentiles."""

from __future__ import annotations

import orjson
import pytest

from persistence.ops_window import BUCKETS, OpsWindow, bucket_index, percentile
from schema.guard.operation_class import OperationClass


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_latency_on_a_bound_falls_in_that_bound_s_bucket() -> None:
    # Given the seed's read p95 (200 ms), a bound; when bucketed; then it is that bucket, not the next.
    assert BUCKETS[bucket_index(0.2)] == 0.2
    assert BUCKETS[bucket_index(0.2001)] == 0.25
    assert BUCKETS[bucket_index(99.0)] == float("inf")


def test_percentiles_interpolate_inside_the_bucket() -> None:
    # Given 100 requests spread evenly over (0.1, 0.12]
    buckets = [0] * len(BUCKETS)
    buckets[bucket_index(0.11)] = 100
    # Then p50 is half way through the bucket and p95 near its top.
    assert percentile(buckets, 0.5) == pytest.approx(0.11)
    assert percentile(buckets, 0.95) == pytest.approx(0.119)
    assert percentile([0] * len(BUCKETS), 0.5) is None


def test_the_open_bucket_answers_its_lower_bound() -> None:
    buckets = [0] * len(BUCKETS)
    buckets[-1] = 3
    assert percentile(buckets, 0.99) == BUCKETS[-2]


def test_requests_older_than_the_window_drop_out() -> None:
    # Given a 60 s window with two requests 59 s apart
    clock = Clock()
    window = OpsWindow(60, clock=clock)
    window.record_request("read", 0.05, error=False)
    clock.now += 59
    window.record_request("read", 0.3, error=True)
    snapshot = window.snapshot()
    assert snapshot["classes"]["read"]["count"] == 2
    assert snapshot["classes"]["read"]["errors"] == 1
    # When the first one's second leaves the window
    clock.now += 1
    # Then only the second one is counted, and its slot was not mistaken for the old one's.
    read = window.snapshot()["classes"]["read"]
    assert (read["count"], read["errors"]) == (1, 1)
    clock.now += 60
    assert window.snapshot()["classes"] == {}


def test_cache_counters_are_sampled_as_deltas() -> None:
    # Given a cache whose cumulative counters grow between samples
    clock = Clock()
    totals = {"session": (10.0, 2.0)}
    window = OpsWindow(60, clock=clock, cache_totals=lambda: totals)
    window.sample_cache()
    clock.now += 1
    totals["session"] = (19.0, 3.0)
    # When snapshotted; then the window holds what was counted, once.
    assert window.snapshot()["cache"] == {"session": [19.0, 3.0]}
    clock.now += 61
    assert window.snapshot()["cache"] == {}


def test_the_span_is_what_a_young_process_has_seen() -> None:
    clock = Clock()
    window = OpsWindow(60, clock=clock)
    clock.now += 10
    assert window.snapshot()["span"] == 10
    clock.now += 100
    assert window.snapshot()["span"] == 60


def test_a_class_given_as_an_enum_member_snapshots_as_json() -> None:
    # Given the view's class, a StrEnum member; when snapshotted; then orjson (no str subclasses as
    # keys) encodes it under the plain name.
    window = OpsWindow(60)
    window.record_request(OperationClass.LIST, 0.1, error=False)
    assert orjson.loads(orjson.dumps(window.snapshot()))["classes"]["list"]["count"] == 1
