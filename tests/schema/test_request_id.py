"""Request ids: the client's when sane, else a fresh one; returned, and on the request's log lines."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from persistence.logs import JsonFormatter
from resolvers.context import Services
from schema.app import build_services, create_app
from tests.conftest import make_settings


async def test_a_sane_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "abc.DEF_123-x"})
    assert response.headers["x-request-id"] == "abc.DEF_123-x"


@pytest.mark.parametrize("offered", ["has space", "x" * 129, "semi;colon", ""])
async def test_an_odd_request_id_is_replaced(client: httpx.AsyncClient, offered: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": offered})
    generated = response.headers["x-request-id"]
    assert generated != offered
    assert len(generated) == 32
    assert all(c in "0123456789abcdef" for c in generated)


async def test_requests_without_an_id_get_distinct_ones(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert first != second


async def test_a_request_refused_for_its_headers_carries_its_id(client: httpx.AsyncClient) -> None:
    # The id is bound before the header bound refuses: the 431 is traceable too
    response = await client.get("/healthz", headers={"X-Request-Id": "big-1", "x-pad": "x" * 20_000})
    assert (response.status_code, response.headers["x-request-id"]) == (431, "big-1")


@pytest.fixture
async def logging_services(database: str, redis_url: str) -> AsyncIterator[Services]:
    # Every statement counts as slow here, so each request writes log lines.
    built = build_services(make_settings(slow_query_warning_ms=0.0))
    yield built
    await built.cache.redis.aclose()
    await built.db.dispose()


async def test_the_log_lines_of_a_request_carry_its_id(logging_services: Services) -> None:
    # Given the app's log lines as JSON
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("taskql")
    logger.addHandler(handler)
    transport = httpx.ASGITransport(app=create_app(services=logging_services), client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
            # When a request with an id reads the database
            response = await http.get("/readyz", headers={"X-Request-Id": "trace-me-42"})
    finally:
        logger.removeHandler(handler)
    # Then its log lines carry the id
    assert response.headers["x-request-id"] == "trace-me-42"
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert lines
    assert {line.get("request_id") for line in lines} == {"trace-me-42"}
