"""The slow-query monitor: a JSON line per slow statement, at the seed's levels, with the request id
and the statement's text but never its parameter values."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from persistence.db import create_engine
from persistence.logs import JsonFormatter, request_id_bound
from tests.conftest import make_settings

SECRET = "parameter-value-never-logged"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("taskql.slow_query")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


async def run_sleep(database: str, **thresholds: float) -> None:
    engine = create_engine(make_settings(**thresholds), null_pool=True)
    try:
        with request_id_bound("req-slow-1"):
            async with engine.connect() as conn:
                statement = text("SELECT SLEEP(:seconds), :marker")
                await conn.execute(statement, {"seconds": 0.15, "marker": SECRET})
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("thresholds", "level"),
    [
        ({}, "WARNING"),  # the seed's: 150 ms is over 100 ms only
        ({"slow_query_error_ms": 120.0}, "ERROR"),
        ({"slow_query_error_ms": 110.0, "slow_query_critical_ms": 120.0}, "CRITICAL"),
    ],
)
async def test_a_slow_statement_is_logged_at_its_level(
    database: str, json_lines: io.StringIO, thresholds: dict[str, Any], level: str
) -> None:
    # When a statement of about 150 ms runs under a request id
    await run_sleep(database, **thresholds)
    # Then one JSON line names its level, text, duration and the request id, and no parameter value
    lines = [orjson.loads(line) for line in json_lines.getvalue().splitlines()]
    slow = [line for line in lines if "SLEEP" in line.get("statement", "")]
    assert len(slow) == 1, lines
    record = slow[0]
    assert record["level"] == level
    assert record["request_id"] == "req-slow-1"
    assert record["duration_ms"] >= 150
    assert record["statement"] == "SELECT SLEEP(%s), %s"
    assert SECRET not in json_lines.getvalue()


async def test_a_fast_statement_is_not_logged(database: str, json_lines: io.StringIO) -> None:
    engine = create_engine(make_settings(), null_pool=True)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert json_lines.getvalue() == ""
