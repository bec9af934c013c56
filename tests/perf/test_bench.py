"""`make bench` without its runs: the engine option, what the measured servers start with, and the
closing line from made-up runs."""

from __future__ import annotations

from perf.bench.load import LoadResult
from perf.bench.report import Run, closing_line
from perf.bench.run import parse_options
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


def test_the_closing_line_keeps_its_fields_and_names_the_engine() -> None:
    runs = [
        _run("graphql_list", 1, 400),
        _run("raw_list", 1, 1000),
        _run("graphql_byid", 1, 500),
        _run("raw_byid", 1, 1000),
    ]
    assert closing_line(runs, 1, "compiled") == "list_ratio=0.40 byid_ratio=0.50 list_sql=1 engine=compiled"
