"""`make bench-writes` without its server: its options, where it writes, and the update it sends."""

from __future__ import annotations

import orjson
import pytest
from graphql import parse

from perf.shared import config
from perf.write_cpu.run import DATABASE, environment, parse_options, update_body


def test_the_defaults_are_the_documented_run() -> None:
    options = parse_options([])
    assert (options.requests, options.warmup, options.rate, options.tasks) == (2000, 300, 100.0, 64)


@pytest.mark.parametrize("argv", [["--requests", "0"], ["--rate", "0"], ["--tasks", "0"], ["--warmup", "-1"]])
def test_nonsense_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_options(argv)


def test_it_writes_to_a_database_and_redis_index_of_its_own() -> None:
    # The reads' data set must stay as the other benches expect it
    variables = environment(parse_options(["--redis-url", "redis://127.0.0.1:6379/9"])).variables
    assert variables["TASKQL_DATABASE_URL"].endswith(f"/{DATABASE}")
    assert DATABASE != config.DATABASE_NAME
    assert variables["TASKQL_REDIS_URL"] == "redis://127.0.0.1:6379/9"
    assert variables["TASKQL_EXECUTION_ENGINE"] == "compiled"


def test_each_update_names_its_task_its_version_and_a_title_of_its_own() -> None:
    request = orjson.loads(update_body("VGFzazox", 7, 12))
    parse(request["query"])
    assert request["variables"] == {
        "input": {"id": "VGFzazox", "version": 7, "title": "Write bench 12", "priority": 2}
    }
