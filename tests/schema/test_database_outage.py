"""MariaDB down is answered as an outage, not as a bug: 503 `SERVICE_UNAVAILABLE` with `Retry-After`
and `retryable`, for either media type, whether the request met it before execution (its session) or
in it; /readyz fails and a metric counts it; the next request after MariaDB is back succeeds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pymysql
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from perf.shared.private_mariadb import PrivateMariaDB
from perf.shared.private_redis import PrivateRedis
from persistence.outages import database_unreachable, nothing_was_sent
from tests.conftest import PASSWORD
from tests.persistence.test_db_restart import LOGIN, TASKS, _seeded, _server
from tests.scrape import sample

GRAPHQL_RESPONSE = "application/graphql-response+json"
READY_WITHIN_SECONDS = 5.0


def _outage(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
    assert "database" in error["message"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_mariadb_down_is_a_503_the_client_may_retry(
    private_mariadb: PrivateMariaDB, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    private_mariadb.create_database("taskql")
    url = private_mariadb.url("taskql")
    org = await _seeded(url, private_redis.url)
    server = _server(tmp_path, url, private_redis.url, 3600.0)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            login = await http.post(
                "/graphql", json={"query": LOGIN, "variables": {"e": org.owner_email, "p": PASSWORD}}
            )
            auth = {"authorization": f"Bearer {login.json()['data']['authLogin']['accessToken']}"}
            assert (await http.post("/graphql", json={"query": TASKS}, headers=auth)).status_code == 200

            private_mariadb.stop()
            # The session from Redis: the read itself meets the outage.
            in_execution = await http.post("/graphql", json={"query": TASKS}, headers=auth)
            assert _outage(in_execution)["retryable"] is True
            # The session not cached: authentication meets it, before anything ran.
            redis = Redis.from_url(private_redis.url)
            await redis.flushdb()
            await redis.aclose()
            before_execution = await http.post(
                "/graphql", json={"query": TASKS}, headers={**auth, "accept": GRAPHQL_RESPONSE}
            )
            assert before_execution.headers["content-type"].startswith(GRAPHQL_RESPONSE)
            assert _outage(before_execution)["retryable"] is True
            assert (await http.get("/readyz")).status_code == 503
            metrics = (await http.get("/metrics")).text
            assert sample(metrics, "database_unavailable_total") >= 2
            assert sample(metrics, "http_requests_total", route="/graphql", status="500") == 0

            private_mariadb.start()
            back = await http.post("/graphql", json={"query": TASKS}, headers=auth)
            assert back.status_code == 200, back.text
            # Ready again within seconds (a pooled connection the restart killed may fail one check).
            deadline = time.monotonic() + READY_WITHIN_SECONDS
            while (await http.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "/readyz still failing after MariaDB came back"
                await asyncio.sleep(0.2)
        assert "INTERNAL_SERVER_ERROR" not in server.output()
    finally:
        server.stop()


CREATE = "mutation($i: TaskCreateInput!) { taskCreate(input: $i) { task { id } errors { code } } }"
EXECUTION_TIMEOUT_SECONDS = 1.0


async def test_mariadb_frozen_is_a_503_within_the_deadline_not_a_504(
    private_mariadb: PrivateMariaDB, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    private_mariadb.create_database("taskql")
    url = private_mariadb.url("taskql")
    org = await _seeded(url, private_redis.url)
    server = _server(
        tmp_path, url, private_redis.url, 3600.0, execution_timeout_seconds=str(EXECUTION_TIMEOUT_SECONDS)
    )
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            login = await http.post(
                "/graphql", json={"query": LOGIN, "variables": {"e": org.owner_email, "p": PASSWORD}}
            )
            auth = {"authorization": f"Bearer {login.json()['data']['authLogin']['accessToken']}"}
            project = await http.post(
                "/graphql", json={"query": "{ projects(first: 1) { nodes { id } } }"}, headers=auth
            )
            project_id = project.json()["data"]["projects"]["nodes"][0]["id"]
            create = {"query": CREATE, "variables": {"i": {"projectId": project_id, "title": "frozen"}}}

            # When MariaDB stops answering (its sockets open: SIGSTOP)
            private_mariadb.freeze()
            try:
                started = time.monotonic()
                read = await http.post("/graphql", json={"query": TASKS}, headers=auth)
                # Then a read gets the outage when its deadline passes: the client may retry it
                assert _outage(read)["retryable"] is True
                assert time.monotonic() - started < EXECUTION_TIMEOUT_SECONDS + 2
                # A write under an Idempotency-Key may be retried; one without: its outcome is unknown
                keyed = await http.post("/graphql", json=create, headers={**auth, "idempotency-key": "k-1"})
                assert _outage(keyed)["retryable"] is True
                assert _outage(await http.post("/graphql", json=create, headers=auth))["retryable"] is False
                # And /readyz fails promptly rather than hanging
                started = time.monotonic()
                assert (await http.get("/readyz")).status_code == 503
                assert time.monotonic() - started < 5
                metrics = (await http.get("/metrics")).text
                assert sample(metrics, "http_requests_total", route="/graphql", status="504") == 0
            finally:
                private_mariadb.thaw()
            # Once it answers again, the keyed write is safe to send again: it applies once
            deadline = time.monotonic() + READY_WITHIN_SECONDS
            while (
                retried := await http.post(
                    "/graphql", json=create, headers={**auth, "idempotency-key": "k-1"}
                )
            ).status_code != 200:
                assert time.monotonic() < deadline, retried.text
                await asyncio.sleep(0.2)
            assert retried.json()["data"]["taskCreate"]["errors"] == []
        assert "INTERNAL_SERVER_ERROR" not in server.output()
    finally:
        server.stop()


def _driver_error(errno: int) -> OperationalError:
    return OperationalError("SELECT 1", {}, pymysql.err.OperationalError(errno, "lost"))


def test_what_counts_as_an_outage_and_what_surely_applied_nothing() -> None:
    # Could not connect: nothing reached the server.
    assert database_unreachable(_driver_error(2003))
    assert nothing_was_sent(_driver_error(2003))
    # No pooled connection in time: nothing was sent either.
    assert database_unreachable(PoolTimeout())
    assert nothing_was_sent(PoolTimeout())
    # Lost mid-way: an outage, but a write's commit may or may not have happened.
    assert database_unreachable(_driver_error(2013))
    assert not nothing_was_sent(_driver_error(2013))
    # A refused row is the database answering: not an outage.
    duplicate = IntegrityError("INSERT", {}, pymysql.err.IntegrityError(1062, "Duplicate entry"))
    assert not database_unreachable(duplicate)
    # Wrapped, as graphql-core and SQLAlchemy chain them, it is still found.
    wrapped = RuntimeError("the read failed")
    wrapped.__cause__ = _driver_error(2006)
    assert database_unreachable(wrapped)
