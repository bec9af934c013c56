"""report.md of a load run: the tables of perf/load/report.py's figures, each cell marked pass or fail
against the seed's target beside it."""

from __future__ import annotations

from datetime import UTC, datetime

from perf.load.report import (
    AUTH_ROWS,
    CACHE_NAMES,
    RECOVERY_BAR_SECONDS,
    RECOVERY_FACTOR,
    SCENARIO_BARS,
    STABILITY_FACTOR,
    STABILITY_SECONDS,
    CacheRow,
    Cell,
    ClassRow,
    LoadReport,
)

PASS, FAIL = "✅", "❌"


def _mark(ok: bool) -> str:
    return PASS if ok else FAIL


def _ms(cell: Cell) -> str:
    return f"{cell.value:.0f} / {cell.target:.0f} {_mark(cell.ok)}"


def _kb(value: float) -> str:
    return f"{value / 1024:.1f}"


def _summary(report: LoadReport) -> list[str]:
    inputs = report.inputs
    started = datetime.fromtimestamp(inputs.started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"# Load run: {inputs.scenario.name}",
        "",
        f"Started {started}, {inputs.seconds:.0f} s, up to {inputs.scenario.peak_users:,} users. "
        f"Seed's criteria: {inputs.scenario.criteria}.",
        "",
        f"- requests: {report.requests:,}, failed: {report.failures:,} "
        f"(error rate {100 * report.error_rate:.3f} %: shed with 503 {report.shed_pct:.2f} %, "
        f"other errors {report.errors_pct:.2f} %)",
        f"- throughput: {report.throughput:.1f} req/s",
        f"- overall p95: {report.overall_p95:.0f} ms",
        f"- answers 401 (a token refused; virtual users renew theirs before expiry, so a 401 is a "
        f"fault): {report.unauthenticated:,} {_mark(report.unauthenticated == 0)}",
        f"- latency rows met (every cell): {report.rows_met[0]}/{report.rows_met[1]}; "
        f"cache data types met: {report.cache_met[0]}/{report.cache_met[1]}",
    ]
    bar = report.bar
    if bar is not None:
        p95_bar, error_bar = SCENARIO_BARS[inputs.scenario.name]
        lines.append(
            f"- the scenario's bar: p95 < {p95_bar:.0f} ms {_mark(bar[0])}, "
            f"error rate <= {100 * error_bar:g} % {_mark(bar[1])}"
        )
    return lines


def _latency_table(title: str, rows: list[ClassRow]) -> list[str]:
    lines = [
        "",
        title,
        "",
        "| class | requests | failed | p50 | p95 | p99 | max |",
        "| --- | ---: | ---: | --- | --- | --- | --- |",
    ]
    for row in rows:
        cells = " | ".join(_ms(c) for c in row.latency) if row.latency else "- | - | - | -"
        lines.append(f"| {row.label} | {row.requests:,} | {row.failures:,} | {cells} |")
    return lines


def _latency(report: LoadReport) -> list[str]:
    steady = f"## The same after the ramp-up (from {report.steady_from_seconds:g} s on, every user started)"
    labels = {row.label for row in report.classes}
    # A run shorter than a token's life less the renewal margin sends none: say so, not a silent gap.
    no_refresh = ["", "No token refreshes in this run: no access token came near its expiry."]
    return [
        *_latency_table("## Latency per operation class (ms, measured / seed target)", report.classes),
        *(no_refresh if AUTH_ROWS["AuthLogin"] in labels and AUTH_ROWS["AuthRefresh"] not in labels else []),
        *_latency_table(steady, report.steady_classes),
    ]


def _sizes_and_sql(report: LoadReport) -> list[str]:
    lines = [
        "",
        "## Response size (KB; budget < 100 KB) and SQL statements per request (seed: < 5)",
        "",
        "| class | size p50 | size max | SQL mean | SQL max |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for row in report.classes:
        size_max = f"{_kb(row.size_max.value)} {_mark(row.size_max.ok)}"
        sql_mean = "-" if row.sql_mean is None else f"{row.sql_mean:.2f}"
        sql_max = "-" if row.sql_max is None else f"{row.sql_max.value:.0f} {_mark(row.sql_max.ok)}"
        lines.append(f"| {row.label} | {_kb(row.size_p50)} | {size_max} | {sql_mean} | {sql_max} |")
    lines += ["", "SQL counts are each answer's `extensions.sqlStatements` (authentication included)."]
    if report.sql_by_metrics:
        per_class = ", ".join(f"{name} {value:.2f}" for name, value in report.sql_by_metrics.items())
        lines.append(f"From `/metrics` (`graphql_sql_statements` sum/count): {per_class}.")
    return lines


def _statuses(report: LoadReport) -> list[str]:
    lines = ["", "## Status mix", "", "| HTTP status | responses | share | p95 ms |"]
    lines.append("| --- | ---: | ---: | ---: |")
    for code, (count, p95) in report.statuses.items():
        label = "no answer" if code == 0 else str(code)
        share = 100 * count / report.requests if report.requests else 0.0
        lines.append(f"| {label} | {count:,} | {share:.2f} % | {p95:.0f} |")
    return lines


def _cache_verdict(row: CacheRow) -> tuple[str, str]:
    """(hit rate, verdict) cells of a data type."""
    if row.target is None:
        return f"{row.hit_rate:.1f} %", "- (no seed target)"
    if not row.lookups:
        reason = row.reason or "no cache on the load's paths"
        return "-", f"> {row.target:.0f} %: no lookups; {reason} {_mark(row.reason_holds)}"
    return f"{row.hit_rate:.1f} %", f"> {row.target:.0f} % {_mark(bool(row.ok))}"


def _caches(report: LoadReport) -> list[str]:
    if report.inputs.metrics is None:
        return ["", "## Cache hit rates", "", "The server exposed no `/metrics`: not measured."]
    met, judged = report.cache_met
    lines = [
        "",
        "## Cache hit rates (`cache_hits_total` / `cache_misses_total` over the run)",
        "",
        f"{met} of the seed's {judged} data types at their target. A data type no request looked up is met "
        "only when the run shows a cache could spare nothing there (each answer that reads it sent one "
        "statement, which reads it along with the tasks); for task lists the run's lists and creates are "
        "replayed through the exact cache, whose hit rate is the most any fresh cache could reach.",
        "",
        "| data type | label | hits | misses | hit rate | seed target |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in report.caches:
        rate, verdict = _cache_verdict(row)
        name = CACHE_NAMES.get(row.data_type, row.data_type)
        counts = f"{row.hits:,.0f} | {row.misses:,.0f}"
        lines.append(f"| {name} | `{row.data_type}` | {counts} | {rate} | {verdict} |")
    return lines


def _recovery(report: LoadReport) -> list[str]:
    recovery = report.recovery
    if recovery is None:
        return []
    back = "never within the run" if recovery.seconds is None else f"after {recovery.seconds:.0f} s"
    return [
        "",
        "## Spike recovery",
        "",
        f"p95 before the spike {recovery.baseline_p95:.0f} ms, during it {recovery.spike_p95:.0f} ms; back "
        f"within {RECOVERY_FACTOR:g}x the pre-spike p95 for 30 s {back} "
        f"(bar: {RECOVERY_BAR_SECONDS:.0f} s) {_mark(recovery.ok)}",
    ]


def _rss(report: LoadReport) -> list[str]:
    lines = [
        "",
        "## Memory (RSS of each process tree, MB)",
        "",
        "| process | first | last | max | trend MB/h | fitted rise / mean |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    judged = report.inputs.scenario.memory_bar
    drift = report.drift
    for trend in report.rss:
        verdict = _mark(trend.ok) if judged else "(not judged: too short a run)"
        lines.append(
            f"| {trend.name} | {trend.first_mb:.0f} | {trend.last_mb:.0f} | {trend.max_mb:.0f} | "
            f"{trend.slope_mb_per_hour:+.1f} | {100 * trend.rise_share:+.1f} % {verdict} |"
        )
    if drift is not None:
        verdict = _mark(drift.ok) if judged else "(not judged)"
        lines += [
            "",
            f"Latency stability: p95 {drift.first_p95:.0f} ms over the first {STABILITY_SECONDS / 60:.0f} "
            f"minutes after the warm-up, {drift.last_p95:.0f} ms over the last: {drift.ratio:.2f}x "
            f"(bar: {STABILITY_FACTOR:g}x) {verdict}",
        ]
    return lines


def _queues(report: LoadReport) -> list[str]:
    if not report.queues:
        return ["", "## Queue depths", "", "No queue was sampled: not measured."]
    met = sum(row.ok for row in report.queues)
    lines = [
        "",
        "## Queue depths (jobs waiting per RQ queue, sampled every 5 s)",
        "",
        f"{met} of {len(report.queues)} queues below their target at every sample.",
        "",
        "| queue | samples | p95 | max | seed target | alert above |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in report.queues:
        lines.append(
            f"| `{row.name}` | {row.samples} | {row.p95:.0f} | {row.max_depth} | < {row.target} "
            f"{_mark(row.ok)} | {row.alert} |"
        )
    return lines


PLOTS = ("latency", "throughput", "cpu", "queues", "rss")


def render(report: LoadReport, notes: list[str]) -> str:
    sections = [
        _summary(report),
        _latency(report),
        _sizes_and_sql(report),
        _statuses(report),
        _caches(report),
        _recovery(report),
        _queues(report),
        _rss(report),
        ["", "## Plots", "", *(f"![{name}]({name}.png)" for name in PLOTS)],
        ["", "## Run", "", *notes] if notes else [],
        ["", "```", report.closing_line(), "```"],
    ]
    return "\n".join(line for section in sections for line in section) + "\n"
