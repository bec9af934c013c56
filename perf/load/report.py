"""A load run's figures beside the service-level targets (docs/slo.md), computed from the
per-request samples, the RSS samples and the `/metrics` delta: no I/O here, so a test can feed it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from perf.load.cache_reasons import READ_ALONG, list_cache_ceiling, read_along
from perf.load.metrics import Metrics, by_label
from perf.load.samples import Sample
from perf.load.scenarios import Scenario
from resolvers.ops_thresholds import QUEUE_TARGETS

# The seed's latency table per endpoint type (our operation classes): p50, p95, p99, max in ms.
LATENCY_TARGETS_MS: dict[str, tuple[float, float, float, float]] = {
    "auth": (50, 120, 200, 500),
    "read": (80, 200, 500, 1000),
    "write": (120, 300, 800, 2000),
    "list": (150, 400, 1000, 3000),
    "search": (200, 600, 1500, 5000),
    "upload": (500, 2000, 5000, 30000),
}
# The seed's cache hit rate targets (percent) by the caches' data_type labels.
CACHE_TARGETS = {
    "session": 95.0,
    "user_profile": 90.0,
    "project": 85.0,
    "task_list": 80.0,
    "permission": 90.0,
}
# The seed's names of those data types, for the report.
CACHE_NAMES = {
    "session": "sessions",
    "user_profile": "user profiles",
    "project": "project metadata",
    "task_list": "task lists",
    "permission": "permission checks",
}
RESPONSE_BUDGET_BYTES = 100 * 1024  # the seed's "API Response Size < 100 KB"
SQL_BUDGET = 5  # the seed's "Database Query Count < 5 per request"
# The seed's success criteria of the scenarios that have numbers: overall p95 (ms) and error rate.
SCENARIO_BARS = {"baseline": (200.0, 0.0), "normal": (300.0, 0.001), "peak": (500.0, 0.01)}
WINDOW_SECONDS = 10.0
# Spike recovery: p95 back within this factor of the pre-spike p95 for this many windows in a row.
RECOVERY_FACTOR = 1.2
RECOVERY_WINDOWS = 3
RECOVERY_BAR_SECONDS = 120.0
# Endurance: the fitted RSS rise over the run must stay under this share of the mean RSS.
RSS_GROWTH_LIMIT = 0.05
# The servers import, fill their pools and caches in their first seconds: RSS trends are fitted from
# this long after the ramp-up (the first samples, taken at start-up, would read as growth).
RSS_WARMUP_SECONDS = 20.0


@dataclass(frozen=True)
class Cell:
    value: float
    target: float

    @property
    def ok(self) -> bool:
        return self.value < self.target


# The auth class in two rows (the decision: the row applies to logins and token refreshes).
AUTH_ROWS = {"AuthLogin": "auth: logins", "AuthRefresh": "auth: refreshes"}
# What the server answers when it sheds a request (schema/guard/admission.py: 503 OVERLOADED).
SHED_STATUS = 503


def row_label(sample: Sample) -> str:
    """The latency table's row of a request: its class, the auth class split by operation."""
    if sample.operation_class != "auth":
        return sample.operation_class
    operation = sample.name.split(":", 1)[-1]
    return AUTH_ROWS.get(operation, f"auth: {operation}")


@dataclass(frozen=True)
class ClassRow:
    label: str  # the row's name: the class, or "auth: logins" / "auth: refreshes"
    operation_class: str
    requests: int
    failures: int
    latency: tuple[Cell, Cell, Cell, Cell] | None  # p50, p95, p99, max; None for a class without targets
    size_p50: float
    size_max: Cell
    sql_mean: float | None
    sql_max: Cell | None

    @property
    def met(self) -> bool | None:
        """Every latency cell (p50, p95, p99, max) under the seed's target; None without targets."""
        return None if self.latency is None else all(cell.ok for cell in self.latency)


@dataclass(frozen=True)
class Window:
    offset: float  # seconds from the run's start
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / WINDOW_SECONDS


@dataclass(frozen=True)
class CacheRow:
    data_type: str
    hits: float
    misses: float
    target: float | None
    # Without lookups: why the data type has no cache on the load's paths, measured from the run
    # (perf/load/cache_reasons.py), and whether that reason stands in for the target.
    reason: str | None = None
    reason_holds: bool = False

    @property
    def lookups(self) -> float:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float:
        return 100.0 * self.hits / self.lookups if self.lookups else 0.0

    @property
    def ok(self) -> bool | None:
        """Over the seed's target; None for a data type without one. A data type of the seed's table
        no request looked up in the run has no cache on the load's paths: met only when the run
        measured that a cache there could spare nothing (``reason_holds``)."""
        if self.target is None:
            return None
        if not self.lookups:
            return self.reason_holds
        return self.hit_rate > self.target


# The endurance bar's latency stability: the last stretch's p95 within this factor of the first's, the
# first taken after the ramp-up and the warm-up (RSS_WARMUP_SECONDS).
STABILITY_SECONDS = 300.0
STABILITY_FACTOR = 1.2


@dataclass(frozen=True)
class LatencyDrift:
    first_p95: float  # the first STABILITY_SECONDS after the warm-up
    last_p95: float  # the run's last STABILITY_SECONDS

    @property
    def ratio(self) -> float:
        return self.last_p95 / self.first_p95 if self.first_p95 else 0.0

    @property
    def ok(self) -> bool:
        return self.ratio <= STABILITY_FACTOR


@dataclass(frozen=True)
class QueueRow:
    name: str
    samples: int
    p95: float
    max_depth: int
    target: int  # the seed's "below" figure
    alert: int

    @property
    def ok(self) -> bool:
        """Below the target at every sample."""
        return self.max_depth < self.target


@dataclass(frozen=True)
class Recovery:
    baseline_p95: float
    spike_p95: float
    seconds: float | None  # None: p95 never came back within the run

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.seconds <= RECOVERY_BAR_SECONDS


@dataclass(frozen=True)
class RssTrend:
    name: str
    first_mb: float
    last_mb: float
    max_mb: float
    slope_mb_per_hour: float
    rise_share: float  # the fitted rise over the run divided by the mean

    @property
    def ok(self) -> bool:
        return self.rise_share < RSS_GROWTH_LIMIT


@dataclass(frozen=True)
class LoadInputs:
    scenario: Scenario
    seconds: float
    started: float  # Unix time the load began
    samples: Sequence[Sample]
    rss: Sequence[tuple[float, str, int]]  # (Unix time, process, bytes)
    metrics: Metrics | None  # end minus start; None without `/metrics`
    cpu: Sequence[tuple[float, str, float]] = ()  # (Unix time, part, its CPU seconds so far)
    queues: Sequence[tuple[float, str, int]] = ()  # (Unix time, RQ queue, jobs waiting)


@dataclass(frozen=True)
class LoadReport:
    inputs: LoadInputs
    classes: list[ClassRow]
    # The same after the ramp-up (every user started), where the spawn's logins no longer crowd in.
    steady_classes: list[ClassRow]
    steady_from_seconds: float
    overall_p95: float
    requests: int
    failures: int
    throughput: float
    statuses: dict[int, tuple[int, float]]  # status: (count, p95 ms)
    windows: list[Window]
    caches: list[CacheRow]
    sql_by_metrics: dict[str, float]  # operation class: statements per request, from the histogram
    recovery: Recovery | None
    rss: list[RssTrend]
    queues: list[QueueRow]
    drift: LatencyDrift | None  # None: a run too short for two stretches that do not overlap

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def shed(self) -> int:
        return self.statuses.get(SHED_STATUS, (0, 0.0))[0]

    @property
    def unauthenticated(self) -> int:
        """Answers 401: a bearer token refused (expired, revoked or unknown)."""
        return self.statuses.get(401, (0, 0.0))[0]

    @property
    def errors_pct(self) -> float:
        """Failed requests other than those shed, in percent of all."""
        return 100.0 * (self.failures - self.shed) / self.requests if self.requests else 0.0

    @property
    def shed_pct(self) -> float:
        return 100.0 * self.shed / self.requests if self.requests else 0.0

    @property
    def rows_met(self) -> tuple[int, int]:
        """(rows met, rows judged) of the seed's latency table, over the whole run."""
        judged = [row.met for row in self.classes if row.met is not None]
        return sum(judged), len(judged)

    @property
    def cache_met(self) -> tuple[int, int]:
        """(data types met, data types with a seed target) of the cache table."""
        judged = [row.ok for row in self.caches if row.ok is not None]
        return sum(judged), len(judged)

    def closing_line(self) -> str:
        """The run in one line, the last the run prints (the same format for every scenario)."""
        rows, caches = self.rows_met, self.cache_met
        return (
            f"scenario={self.inputs.scenario.name} users={self.inputs.scenario.peak_users} "
            f"rps={self.throughput:.1f} p95_ms={self.overall_p95:.0f} errors_pct={self.errors_pct:.2f} "
            f"shed_pct={self.shed_pct:.2f} rows_met={rows[0]}/{rows[1]} cache_met={caches[0]}/{caches[1]}"
        )

    @property
    def bar(self) -> tuple[bool, bool] | None:
        """(p95 met, error rate met) against the scenario's row of the seed, where it has numbers."""
        bar = SCENARIO_BARS.get(self.inputs.scenario.name)
        if bar is None:
            return None
        return self.overall_p95 < bar[0], self.error_rate <= bar[1]


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of all at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _class_row(label: str, samples: list[Sample]) -> ClassRow:
    times = [s.response_ms for s in samples]
    name = samples[0].operation_class
    targets = LATENCY_TARGETS_MS.get(name)
    latency = None
    if targets is not None:
        values = (percentile(times, 0.5), percentile(times, 0.95), percentile(times, 0.99), max(times))
        latency = (
            Cell(values[0], targets[0]), Cell(values[1], targets[1]),
            Cell(values[2], targets[2]), Cell(values[3], targets[3]),
        )  # fmt: skip
    sizes = [float(s.size) for s in samples]
    counts = [s.sql for s in samples if s.sql is not None]
    return ClassRow(
        label=label,
        operation_class=name,
        requests=len(samples),
        failures=sum(not s.ok for s in samples),
        latency=latency,
        size_p50=percentile(sizes, 0.5),
        size_max=Cell(max(sizes), RESPONSE_BUDGET_BYTES),
        sql_mean=statistics.fmean(counts) if counts else None,
        sql_max=Cell(max(counts), SQL_BUDGET) if counts else None,
    )


def _windows(samples: Sequence[Sample], started: float) -> list[Window]:
    buckets: dict[int, list[Sample]] = {}
    for sample in samples:
        buckets.setdefault(int((sample.started - started) // WINDOW_SECONDS), []).append(sample)
    windows = []
    for index in sorted(buckets):
        times = [s.response_ms for s in buckets[index]]
        windows.append(
            Window(
                offset=index * WINDOW_SECONDS,
                requests=len(times),
                failures=sum(not s.ok for s in buckets[index]),
                p50=percentile(times, 0.5),
                p95=percentile(times, 0.95),
                p99=percentile(times, 0.99),
            )
        )
    return windows


def _recovery(inputs: LoadInputs, windows: list[Window]) -> Recovery | None:
    """For a scenario with a spike (a stage above those around it): from the spike's end, how long
    until p95 is back near the p95 before it."""
    stages = inputs.scenario.stages
    peak = max(range(len(stages)), key=lambda i: stages[i].users)
    if peak in (0, len(stages) - 1):
        return None
    spike_start = stages[peak - 1].until * inputs.seconds
    spike_end = stages[peak].until * inputs.seconds
    before = [s.response_ms for s in inputs.samples if s.started - inputs.started < spike_start]
    during = [s.response_ms for s in inputs.samples if spike_start <= s.started - inputs.started < spike_end]
    baseline = percentile(before, 0.95)
    after = [w for w in windows if w.offset >= spike_end]
    seconds = None
    for i in range(len(after) - RECOVERY_WINDOWS + 1):
        if all(w.p95 <= baseline * RECOVERY_FACTOR for w in after[i : i + RECOVERY_WINDOWS]):
            seconds = after[i].offset - spike_end
            break
    return Recovery(baseline, percentile(during, 0.95), seconds)


def _rss_trends(rss: Sequence[tuple[float, str, int]], fit_from: float) -> list[RssTrend]:
    trends = []
    for name in dict.fromkeys(name for _, name, _ in rss):
        points = [(t, b / 2**20) for t, n, b in rss if n == name]
        warm = [point for point in points if point[0] >= fit_from]
        points = warm if len(warm) >= 2 else points
        if len(points) < 2:
            continue
        hours = [(t - points[0][0]) / 3600 for t, _ in points]
        megabytes = [mb for _, mb in points]
        slope = statistics.linear_regression(hours, megabytes).slope if len(set(hours)) > 1 else 0.0
        mean = statistics.fmean(megabytes)
        rise = slope * hours[-1] / mean if mean else 0.0
        trends.append(RssTrend(name, megabytes[0], megabytes[-1], max(megabytes), slope, rise))
    return trends


def _caches(metrics: Metrics, samples: Sequence[Sample]) -> list[CacheRow]:
    hits = by_label(metrics, "cache_hits_total", "data_type")
    misses = by_label(metrics, "cache_misses_total", "data_type")
    along = read_along(samples, misses.get("session", 0.0))
    ceiling = list_cache_ceiling(samples)
    reasons = {t: (along.describe(), along.holds) for t in READ_ALONG}
    reasons["task_list"] = (ceiling.describe(), False)
    # The seed's data types first, in its order (each shown, looked up or not), then the others.
    others = sorted((set(hits) | set(misses)) - set(CACHE_TARGETS))
    rows = []
    for t in [*CACHE_TARGETS, *others]:
        row = CacheRow(t, hits.get(t, 0.0), misses.get(t, 0.0), CACHE_TARGETS.get(t))
        if row.target is not None and not row.lookups and t in reasons:
            row = replace(row, reason=reasons[t][0], reason_holds=reasons[t][1])
        rows.append(row)
    return rows


def class_p95_windows(samples: Sequence[Sample], started: float) -> dict[str, list[tuple[float, float]]]:
    """Each latency row's p95 per 10 s window: (seconds into the run, ms), rows in the table's order."""
    buckets: dict[str, dict[int, list[float]]] = {}
    for sample in samples:
        window = int((sample.started - started) // WINDOW_SECONDS)
        buckets.setdefault(row_label(sample), {}).setdefault(window, []).append(sample.response_ms)
    order = [row.label for row in _class_rows(samples)]
    return {
        label: [(w * WINDOW_SECONDS, percentile(times, 0.95)) for w, times in sorted(buckets[label].items())]
        for label in order
    }


def cores_used(
    cpu: Sequence[tuple[float, str, float]], started: float
) -> dict[str, list[tuple[float, float]]]:
    """Each part's CPU between two samples over the time between them: (seconds into the run, cores)."""
    previous: dict[str, tuple[float, float]] = {}
    used: dict[str, list[tuple[float, float]]] = {}
    for at, part, seconds in cpu:
        if part in previous and at > previous[part][0]:
            last_at, last_seconds = previous[part]
            used.setdefault(part, []).append((at - started, (seconds - last_seconds) / (at - last_at)))
        previous[part] = (at, seconds)
    return used


def _drift(samples: Sequence[Sample], settled: float) -> LatencyDrift | None:
    """p95 of the first stretch from ``settled`` (Unix time) against the run's last stretch."""
    if not samples:
        return None
    end = max(s.started for s in samples)
    if end - settled < 2 * STABILITY_SECONDS:
        return None
    first = [s.response_ms for s in samples if settled <= s.started < settled + STABILITY_SECONDS]
    last = [s.response_ms for s in samples if s.started > end - STABILITY_SECONDS]
    return LatencyDrift(percentile(first, 0.95), percentile(last, 0.95))


def _queues(depths: Sequence[tuple[float, str, int]]) -> list[QueueRow]:
    rows = []
    for name, target in QUEUE_TARGETS.items():
        seen = [depth for _, queue, depth in depths if queue == name]
        if seen:
            rows.append(
                QueueRow(name, len(seen), percentile(seen, 0.95), max(seen), target.target, target.alert)
            )
    return rows


def _sql_by_metrics(metrics: Metrics) -> dict[str, float]:
    sums = by_label(metrics, "graphql_sql_statements_sum", "operation_class")
    counts = by_label(metrics, "graphql_sql_statements_count", "operation_class")
    return {name: sums.get(name, 0.0) / count for name, count in sorted(counts.items()) if count}


def _class_rows(samples: Sequence[Sample]) -> list[ClassRow]:
    by_row: dict[str, list[Sample]] = {}
    for sample in samples:
        by_row.setdefault(row_label(sample), []).append(sample)
    # The seed's order of classes, logins before refreshes; classes without targets last.
    ranks = {name: n for n, name in enumerate(LATENCY_TARGETS_MS)}
    fixed = {label: n for n, label in enumerate(AUTH_ROWS.values())}

    def rank(label: str) -> tuple[int, int, str]:
        operation_class = by_row[label][0].operation_class
        return ranks.get(operation_class, len(ranks)), fixed.get(label, len(fixed)), label

    return [_class_row(label, by_row[label]) for label in sorted(by_row, key=rank)]


def build_report(inputs: LoadInputs) -> LoadReport:
    samples = list(inputs.samples)
    ramp = inputs.scenario.ramp_seconds
    statuses: dict[int, list[float]] = {}
    for sample in samples:
        statuses.setdefault(sample.status, []).append(sample.response_ms)
    span = (max(s.started + s.response_ms / 1000 for s in samples) - inputs.started) if samples else 0.0
    windows = _windows(samples, inputs.started)
    return LoadReport(
        inputs=inputs,
        classes=_class_rows(samples),
        steady_classes=_class_rows([s for s in samples if s.started >= inputs.started + ramp]),
        steady_from_seconds=ramp,
        overall_p95=percentile([s.response_ms for s in samples], 0.95),
        requests=len(samples),
        failures=sum(not s.ok for s in samples),
        throughput=len(samples) / span if span > 0 else 0.0,
        statuses={code: (len(times), percentile(times, 0.95)) for code, times in sorted(statuses.items())},
        windows=windows,
        caches=_caches(inputs.metrics, samples) if inputs.metrics is not None else [],
        sql_by_metrics=_sql_by_metrics(inputs.metrics) if inputs.metrics is not None else {},
        recovery=_recovery(inputs, windows),
        rss=_rss_trends(inputs.rss, inputs.started + ramp + RSS_WARMUP_SECONDS),
        queues=_queues(inputs.queues),
        drift=_drift(samples, inputs.started + ramp + RSS_WARMUP_SECONDS),
    )
