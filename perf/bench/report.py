"""Turning the runs into figures: medians per endpoint, GraphQL/raw ratios, the table, the JSON file
under perf/results/, and the one closing line."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perf.bench.load import LoadResult
from perf.shared.results import RESULTS

# (GraphQL endpoint, raw endpoint) for each ratio the issue asks for.
PAIRS = {
    "list": ("graphql_list", "raw_list"),
    "byid": ("graphql_byid", "raw_byid"),
    "write": ("graphql_write", "raw_write"),
}


@dataclass(frozen=True)
class Run:
    endpoint: str
    round: int
    result: LoadResult


@dataclass(frozen=True)
class Summary:
    endpoint: str
    rps: list[float]
    median_rps: float
    median_p50_ms: float
    median_p99_ms: float
    errors: int


def summarize(runs: list[Run]) -> dict[str, Summary]:
    endpoints = dict.fromkeys(run.endpoint for run in runs)
    summaries: dict[str, Summary] = {}
    for endpoint in endpoints:
        mine = [run.result for run in runs if run.endpoint == endpoint]
        summaries[endpoint] = Summary(
            endpoint=endpoint,
            rps=[r.rps for r in mine],
            median_rps=statistics.median(r.rps for r in mine),
            median_p50_ms=statistics.median(r.p50_us for r in mine) / 1000,
            median_p99_ms=statistics.median(r.p99_us for r in mine) / 1000,
            errors=sum(r.errors for r in mine),
        )
    return summaries


def round_ratios(runs: list[Run], pair: str) -> list[float]:
    """GraphQL over raw per round: the two runs of a round are back to back, so slow drift in the
    machine's load (other processes, caches) cancels out better than in a ratio of medians."""
    graphql, raw = PAIRS[pair]
    by_key = {(run.endpoint, run.round): run.result.rps for run in runs}
    rounds = sorted({run.round for run in runs})
    return [by_key[(graphql, r)] / by_key[(raw, r)] for r in rounds if by_key[(raw, r)] > 0]


def ratio(runs: list[Run], pair: str) -> float:
    return statistics.median(round_ratios(runs, pair))


def table(summaries: dict[str, Summary], runs: list[Run]) -> str:
    rounds = len(next(iter(summaries.values())).rps)
    head = ["endpoint".ljust(14), *(f"r{i + 1} req/s".rjust(10) for i in range(rounds))]
    head += ["median".rjust(9), "p50 ms".rjust(8), "p99 ms".rjust(8), "errors".rjust(7)]
    lines = [" ".join(head)]
    for s in summaries.values():
        cells = [s.endpoint.ljust(14), *(f"{v:10.0f}" for v in s.rps)]
        cells += [
            f"{s.median_rps:9.0f}",
            f"{s.median_p50_ms:8.2f}",
            f"{s.median_p99_ms:8.2f}",
            f"{s.errors:7d}",
        ]
        lines.append(" ".join(cells))
    for pair in PAIRS:
        per_round = ", ".join(f"{v:.3f}" for v in round_ratios(runs, pair))
        lines.append(f"{pair} ratio per round: {per_round} (median {ratio(runs, pair):.3f})")
    return "\n".join(lines)


def closing_line(runs: list[Run], list_sql: int, engine: str) -> str:
    """Every ratio is GraphQL req/s over raw req/s (0.6: GraphQL does 60 % of the raw endpoint's work
    per second); write_ratio closes the line."""
    figures = f"list_ratio={ratio(runs, 'list'):.2f} byid_ratio={ratio(runs, 'byid'):.2f}"
    return f"{figures} list_sql={list_sql} engine={engine} write_ratio={ratio(runs, 'write'):.2f}"


def write_results(runs: list[Run], summaries: dict[str, Summary], context: dict[str, Any]) -> Path:
    """perf/results/bench-<UTC time>.json (git-ignored), for comparing runs over time."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "finished_at": stamp,
        **context,
        "runs": [
            {"endpoint": r.endpoint, "round": r.round, **asdict(r.result), "rps": r.result.rps} for r in runs
        ],
        "summaries": {name: asdict(s) for name, s in summaries.items()},
        "ratios": {
            pair: {"median": ratio(runs, pair), "per_round": round_ratios(runs, pair)} for pair in PAIRS
        },
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
