"""The load report's queue depths, CPU per part and per-class latency over time (perf/load/usage.py,
report.py, plots.py), from canned samples and from a real Redis."""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis

from perf.load.markdown import render
from perf.load.plots import write_plots
from perf.load.report import LoadInputs, build_report, class_p95_windows, cores_used
from perf.load.samples import Sample
from perf.load.scenarios import SCENARIOS
from perf.load.usage import UsageSampler, queue_depths_reader
from tests import services as test_services


def _sample(t: float, name: str, ms: float) -> Sample:
    return Sample(1000.0 + t, name, ms, 200, 512, True, 1)


def test_queue_depths_are_judged_below_the_seed_targets_at_every_sample() -> None:
    # Given queue samples where `high` once reached its target of 10 and `default` stayed low
    queues = [(1000.0 + t, "high", depth) for t, depth in ((0, 0), (5, 3), (10, 10), (15, 0))]
    queues += [(1000.0 + t, "default", depth) for t, depth in ((0, 0), (5, 40), (10, 99))]
    report = build_report(
        LoadInputs(
            SCENARIOS["baseline"], 20.0, 1000.0, [_sample(1, "list:TaskList", 5)], [], None, (), queues
        )
    )
    rows = {row.name: row for row in report.queues}
    # Then each queue shows its maximum against its target, and a queue never sampled is left out
    assert (rows["high"].max_depth, rows["high"].ok) == (10, False)
    assert (rows["default"].max_depth, rows["default"].ok) == (99, True)
    assert "low" not in rows
    text = render(report, [])
    assert "1 of 2 queues below their target at every sample." in text
    assert "| `high` | 4 | 10 | 10 | < 10 ❌ | 50 |" in text


def test_cpu_per_part_is_cores_used_between_samples() -> None:
    # Given a part that used 5 CPU seconds over 5 s, then 2.5 over the next 5 s
    cpu = [
        (1000.0, "server", 10.0),
        (1005.0, "server", 15.0),
        (1010.0, "server", 17.5),
        (1005.0, "redis", 1.0),
    ]
    # Then it used one core, then half of one; a part sampled once has no interval yet
    assert cores_used(cpu, 1000.0) == {"server": [(5.0, 1.0), (10.0, 0.5)]}


def test_each_latency_row_has_its_p95_per_window() -> None:
    samples = [_sample(t, "list:TaskList", 10.0 + t) for t in range(20)]
    samples += [_sample(t, "auth:AuthLogin", 100.0) for t in range(0, 20, 5)]
    windows = class_p95_windows(samples, 1000.0)
    # The seed's order (auth first), a point per 10 s window with the window's p95
    assert list(windows) == ["auth: logins", "list"]
    assert windows["list"] == [(0.0, 19.0), (10.0, 29.0)]


def test_the_sampler_reads_real_queue_lengths_and_the_plots_are_written(tmp_path: Path) -> None:
    # Given jobs waiting in a real Redis's `low` queue
    test_services.require_tcp("Redis", test_services.REDIS_HOST, test_services.REDIS_PORT)
    url = test_services.REDIS_URL
    connection = redis.Redis.from_url(url)
    connection.delete("rq:queue:low")
    connection.rpush("rq:queue:low", "job-1", "job-2", "job-3")
    try:
        # When the sampler runs for a few of its intervals
        sampler = UsageSampler(
            {"tests": os.getpid()},
            lambda: {"server": time.process_time()},
            queue_depths_reader(url),
            interval=0.05,
        )
        sampler.start()
        time.sleep(0.3)
        sampler.stop()
    finally:
        connection.delete("rq:queue:low")
    # Then it recorded the queue's length and the part's CPU at each sample
    assert {depth for _, name, depth in sampler.queues if name == "low"} == {3}
    assert {name for _, name, _ in sampler.queues} == {"high", "default", "low"}
    assert len([part for _, part, _ in sampler.cpu]) >= 3
    assert all(name == "tests" and size > 0 for _, name, size in sampler.rss)
    assert len(sampler.rss) >= 3
    # And a report built from them writes every plot it links
    started = sampler.cpu[0][0]
    samples = [Sample(started + t, "list:TaskList", 5.0, 200, 512, True, 1) for t in range(3)]
    report = build_report(
        LoadInputs(
            SCENARIOS["baseline"], 3.0, started, samples, sampler.rss, None, sampler.cpu, sampler.queues
        )
    )
    write_plots(report, tmp_path)
    for name in ("latency", "throughput", "cpu", "queues", "rss"):
        assert f"![{name}]({name}.png)" in render(report, [])
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_a_refused_token_is_counted_and_marked() -> None:
    samples = [_sample(1, "list:TaskList", 5), Sample(1002.0, "read:TaskDetail", 3.0, 401, 100, False, 0)]
    report = build_report(LoadInputs(SCENARIOS["endurance"], 5.0, 1000.0, samples, [], None))
    assert report.unauthenticated == 1
    assert "fault): 1 ❌" in render(report, [])
    clean = build_report(LoadInputs(SCENARIOS["endurance"], 5.0, 1000.0, samples[:1], [], None))
    assert "fault): 0 ✅" in render(clean, [])


def test_endurance_judges_the_last_stretch_p95_against_the_first_after_warm_up() -> None:
    # Given a 15-minute endurance run: 60 ms answers, then 80 ms in the last 5 minutes (1.33x)
    samples = [_sample(t, "list:TaskList", 60.0 if t < 600 else 80.0) for t in range(0, 900, 2)]
    report = build_report(LoadInputs(SCENARIOS["endurance"], 900.0, 1000.0, samples, [], None))
    assert report.drift is not None
    assert (report.drift.first_p95, report.drift.last_p95) == (60.0, 80.0)
    assert not report.drift.ok
    assert (
        "60 ms over the first 5 minutes after the warm-up, 80 ms over the last: 1.33x (bar: 1.2x) ❌"
        in render(report, [])
    )
    # And a run shorter than two stretches is not judged at all
    short = build_report(LoadInputs(SCENARIOS["endurance"], 500.0, 1000.0, samples[:250], [], None))
    assert short.drift is None
