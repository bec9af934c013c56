"""`make bench` without its runs: the engine option, what the measured servers start with, the closing
line from made-up runs, reading the write pair's answers, and telling its rows from its answers."""

from __future__ import annotations

import orjson

from perf.bench.load import LoadResult
from perf.bench.report import Run, closing_line, ratio, round_ratios
from perf.bench.run import parse_options
from perf.bench.write_check import Written, mismatch
from perf.bench.writes import written_version
from perf.shared import config


def _run(endpoint: str, number: int, requests: int) -> Run:
    return Run(
        endpoint, number, LoadResult(requests=requests, seconds=10.0, errors=0, p50_us=1.0, p99_us=2.0)
    )


def test_the_engine_defaults_to_compiled_and_may_be_resolvers() -> None:
    assert parse_options([]).engine == "compiled"
    assert parse_options(["--engine", "resolvers"]).engine == "resolvers"


def test_the_measured_servers_run_the_engine_without_the_task_list_cache() -> None:
    # Given the bench's environment for the resolvers engine
    env = config.BenchEnvironment.create().measuring("resolvers")
    # Then the servers are told the engine, and the settings built from it switch the cache off
    assert env.variables["TASKQL_EXECUTION_ENGINE"] == "resolvers"
    assert env.settings().task_list_cache_enabled is False
    assert config.BenchEnvironment.create().settings().task_list_cache_enabled is True


def test_the_closing_line_keeps_its_fields_names_the_engine_and_ends_with_the_write_ratio() -> None:
    runs = [
        _run("graphql_list", 1, 400),
        _run("raw_list", 1, 1000),
        _run("graphql_byid", 1, 500),
        _run("raw_byid", 1, 1000),
        _run("graphql_write", 1, 300),
        _run("raw_write", 1, 500),
    ]
    assert (
        closing_line(runs, 1, "compiled")
        == "list_ratio=0.40 byid_ratio=0.50 list_sql=1 engine=compiled write_ratio=0.60"
    )


def test_the_write_ratio_is_graphql_over_raw_the_median_of_the_rounds() -> None:
    # Given three rounds in which GraphQL wrote 50 %, 80 % and 60 % of what raw wrote per second
    runs = [
        run
        for number, (graphql, raw) in enumerate([(100, 200), (400, 500), (300, 500)], start=1)
        for run in (_run("graphql_write", number, graphql), _run("raw_write", number, raw))
    ]
    # Then each round's ratio is GraphQL over raw, as for the reads, and the figure is their median
    assert round_ratios(runs, "write") == [0.5, 0.8, 0.6]
    assert ratio(runs, "write") == 0.6


def _answer(status: int, payload: object) -> int | None:
    return written_version(status, orjson.dumps(payload))


def test_only_an_answer_that_wrote_counts_as_a_write() -> None:
    wrote = {"data": {"taskUpdate": {"task": {"id": "VGFzazox", "version": 4}, "errors": []}}}
    assert _answer(200, wrote) == 4
    assert _answer(200, {**wrote, "extensions": {"cost": 3}}) == 4
    conflict = {
        "data": {"taskUpdate": {"task": {"id": "VGFzazox", "version": 4}, "errors": [{"code": "CONFLICT"}]}}
    }
    assert _answer(200, conflict) is None
    assert _answer(409, {"data": {"taskUpdate": {"task": None, "errors": [{"code": "CONFLICT"}]}}}) is None
    assert _answer(200, {"data": None, "errors": [{"message": "no"}]}) is None
    assert _answer(500, wrote) is None
    assert written_version(200, b"not json") is None


def test_rows_that_differ_from_the_acknowledged_writes_are_named() -> None:
    assert mismatch("raw_write", 7, Written(version_steps=7, events=7, keyed_events=7, unpublished=0)) is None
    problem = mismatch("raw_write", 7, Written(version_steps=8, events=8, keyed_events=7, unpublished=1))
    assert problem == (
        "raw_write: 7 writes acknowledged, but the tasks' versions moved 8 steps; 8 task.updated events "
        "were written; only 7 of the events carry an idempotency key; 1 events were still unpublished "
        "after 10 s"
    )
