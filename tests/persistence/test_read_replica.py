"""A real server on a MariaDB primary and its replica (two mariadbd of the test's own, the replica
replicating from the primary) and a Redis of its own.

Lag-tolerant reads (lists, search) are served by the replica: a row changed on the replica alone shows
in them. With the replica's SQL thread stopped, a user's read right after their own write sees it
(read-your-writes) while another user's still sees the replica; past the lag bound the other user's
read falls back to the primary. Version checks never meet the replica (no spurious CONFLICT), nor do
cache fills (nothing marked on the replica alone reaches Redis). The replica killed, reads still
succeed, from the primary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import text

from jobs.queues import use_job_engine, use_settings
from jobs.reports import SUCCEEDED, build_report
from perf.shared.private_mariadb import PrivateReplication
from perf.shared.private_redis import PrivateRedis
from perf.shared.server_process import start_server
from persistence.db import Database, create_engine, create_replica
from persistence.enums import ReportStatus
from persistence.migrate import upgrade_to_head
from persistence.replica import Replica, ReplicaLag, follow_writes, gtid_positions, has_reached
from persistence.report_files import ReportStore, report_key
from persistence.settings import Settings
from schema.app import build_services
from tests.conftest import PASSWORD, make_settings
from tests.persistence.test_db_restart import LOGIN, _seeded
from tests.report_data import insert_report, report_world
from tests.scrape import sample

MAX_LAG_SECONDS = 2.0
PROJECTS = "{ projects(first: 20) { nodes { id name } } }"
SEARCH = "query($q: String!) { searchTasks(query: $q, first: 10) { nodes { id title } } }"
TASKS = "{ tasks(first: 100) { nodes { id title version assignee { name } } } }"
UPDATE = """mutation($input: TaskUpdateInput!) {
  taskUpdate(input: $input) { task { id title version } errors { code } } }"""
ON_REPLICA_ONLY = "replicaonly"  # a mark written on the replica alone: whoever shows it read the replica


async def _query(
    http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _login(http: httpx.AsyncClient, email: str) -> str:
    login = await http.post("/graphql", json={"query": LOGIN, "variables": {"e": email, "p": PASSWORD}})
    token: str = login.json()["data"]["authLogin"]["accessToken"]
    return token


async def _metric(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    return sample((await http.get("/metrics")).text, name, **labels)


async def _until(check: Callable[[], Any], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.1)


async def _titles(http: httpx.AsyncClient, token: str, words: str) -> set[str]:
    found = await _query(http, token, SEARCH, {"q": words})
    return {node["title"] for node in found["searchTasks"]["nodes"]}


async def test_lag_tolerant_reads_use_the_replica_while_it_keeps_up(
    private_replication: PrivateReplication, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    primary, replica = private_replication.primary, private_replication.replica
    primary.create_database("taskql")  # the replica creates it too, and everything after
    org = await _seeded(primary.url("taskql"), private_redis.url)
    server = start_server(
        tmp_path / "server.log",
        {
            "TASKQL_ENVIRONMENT": "test",
            "TASKQL_DATABASE_URL": primary.url("taskql"),
            "TASKQL_DATABASE_REPLICA_URL": replica.url("taskql"),
            "TASKQL_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
            "TASKQL_REPLICA_LAG_CHECK_SECONDS": "0.2",
            "TASKQL_REPLICA_READ_YOUR_WRITES_SECONDS": "30",
            "TASKQL_REDIS_URL": private_redis.url,
            "TASKQL_MIGRATE_ON_START": "false",
            # The resolvers: their reads fill the caches (the compiled engine's never do).
            "TASKQL_EXECUTION_ENGINE": "resolvers",
            "TASKQL_RELAY_SWEEP_INTERVAL_SECONDS": "3600",
            "TASKQL_COST_BUCKET_CAPACITY": "1000000",
        },
    )
    redis = Redis.from_url(private_redis.url)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            owner = await _login(http, org.owner_email)  # writes below
            other = await _login(http, "user1@restart.taskql.dev")  # a member: reads only
            await _until(lambda: _replica_in_use(http, 1), "the replica in use (caught up with the seed)")

            # A list read by the replica: a project renamed there alone shows in it.
            project_id = org.project_ids[0]
            rename = f"UPDATE taskql.projects SET name = '{ON_REPLICA_ONLY}' WHERE id = {project_id}"  # noqa: S608 - our constants
            replica.run_sql(rename)
            names = {node["name"] for node in (await _query(http, owner, PROJECTS))["projects"]["nodes"]}
            assert ON_REPLICA_ONLY in names
            assert await _metric(http, "db_lag_tolerant_reads_total", engine="replica") >= 1

            # Cache fills read the primary: a title and a name changed on the replica alone reach
            # neither Redis nor the (cached) task list.
            task_id = org.task_ids[0]
            retitle = f"UPDATE taskql.tasks SET title = '{ON_REPLICA_ONLY}' WHERE id = {task_id}"  # noqa: S608 - our constants
            rename_all = f"UPDATE taskql.users SET name = '{ON_REPLICA_ONLY}'"  # noqa: S608 - our constants
            replica.run_sql(f"{retitle}; {rename_all}")
            await redis.flushdb()
            tasks = (await _query(http, other, TASKS))["tasks"]["nodes"]
            assert tasks
            assert ON_REPLICA_ONLY not in str(tasks)
            assert await _cached_values_without(redis, ON_REPLICA_ONLY) > 0

            # The replica stops applying: the owner's own write is seen by the owner's next read
            # (read-your-writes), while the other user, within the lag bound, still reads the replica.
            replica.run_sql("STOP SLAVE SQL_THREAD")
            task = tasks[0]
            version = task["version"]
            for attempt in range(3):
                # Every version check reads the primary: the right version never conflicts.
                title = f"zebracorn renamed {attempt}"
                updated = await _query(
                    http, owner, UPDATE, {"input": {"id": task["id"], "version": version, "title": title}}
                )
                assert updated["taskUpdate"]["errors"] == [], updated
                version = updated["taskUpdate"]["task"]["version"]
            assert await _titles(http, owner, "zebracorn") == {title}
            assert await _titles(http, other, "zebracorn") == set()
            assert await _metric(http, "db_replica_in_use") == 1

            # Past the bound the replica is skipped: the other user's read comes from the primary.
            await _until(lambda: _replica_in_use(http, 0), "the lagging replica skipped", MAX_LAG_SECONDS + 5)
            assert await _titles(http, other, "zebracorn") == {title}
            assert await _metric(http, "db_replica_lag_seconds") > MAX_LAG_SECONDS
            assert server.output().count("over 2 s") == 1, server.output()

            # Caught up, it serves again.
            replica.run_sql("START SLAVE SQL_THREAD")
            await _until(lambda: _replica_in_use(http, 1), "the replica in use again")
            served = await _metric(http, "db_lag_tolerant_reads_total", engine="replica")
            assert await _titles(http, other, "zebracorn") == {title}
            assert await _metric(http, "db_lag_tolerant_reads_total", engine="replica") == served + 1

            # Killed: the next read, which meets it, runs again on the primary.
            replica.kill()
            names = {node["name"] for node in (await _query(http, other, PROJECTS))["projects"]["nodes"]}
            assert names
            assert ON_REPLICA_ONLY not in names
            assert await _metric(http, "db_replica_in_use") == 0
            assert await _titles(http, other, "zebracorn") == {title}
        assert "unreachable" in server.output()
        assert "INTERNAL_SERVER_ERROR" not in server.output()
    finally:
        await redis.aclose()
        server.stop()


async def _replica_in_use(http: httpx.AsyncClient, expected: float) -> bool:
    return await _metric(http, "db_replica_in_use") == expected


async def _cached_values_without(redis: Redis, mark: str) -> int:
    """How many cache entries there are; fails if one holds ``mark``."""
    keys = [key async for key in redis.scan_iter(count=1000, _type="string")]
    values = [await redis.get(key) for key in keys]
    assert not any(value and mark.encode() in value for value in values), "a cache holds the replica's data"
    return len(keys)


def test_a_replica_needs_mariadb_for_both_engines() -> None:
    replica = "mysql+aiomysql://taskql@replica:3306/taskql"
    with pytest.raises(ValidationError, match="TASKQL_DATABASE_REPLICA_URL needs MariaDB"):
        Settings(database_url="sqlite+aiosqlite:///var/taskql.db", database_replica_url=replica)
    with pytest.raises(ValidationError, match="must exceed TASKQL_REPLICA_LAG_CHECK_SECONDS"):
        Settings(
            database_url="mysql+aiomysql://taskql@db:3306/taskql",
            database_replica_url=replica,
            replica_max_lag_seconds=1,
            replica_lag_check_seconds=1,
        )


def test_the_replica_has_reached_a_position_domain_by_domain() -> None:
    primary = gtid_positions("0-1-42,1-2-7")
    assert primary == {0: 42, 1: 7}
    assert has_reached(gtid_positions("0-1-42,1-3-9"), primary)  # another server of domain 1 wrote on
    assert not has_reached(gtid_positions("0-1-41,1-2-7"), primary)
    assert not has_reached(gtid_positions("0-1-42"), primary)  # nothing of domain 1 applied yet
    assert has_reached(gtid_positions(""), gtid_positions(None))  # an empty primary: nothing to lag


async def test_a_read_that_meets_a_dead_replica_runs_again_on_the_primary(
    private_replication: PrivateReplication,
) -> None:
    primary, replica_server = private_replication.primary, private_replication.replica
    primary.create_database("taskql")
    primary.run_sql(
        "CREATE TABLE taskql.marks (id INT PRIMARY KEY, side VARCHAR(20)); "
        "INSERT INTO taskql.marks VALUES (1, 'primary')"
    )
    settings = make_settings(
        database_url=primary.url("taskql"), database_replica_url=replica_server.url("taskql")
    )
    reads = create_engine(settings, autocommit=True, pool=(2, 0))
    replica = create_replica(settings, reads, (2, 0))
    assert replica is not None
    db = Database(reads, reads, replica)

    async def side() -> str:
        async with db.read(lag_ok=True) as conn:
            found: str = await conn.scalar(text("SELECT side FROM marks WHERE id = 1"))
        return found

    try:
        await _until(_caught_up(replica), "the replica caught up")
        replica_server.run_sql("UPDATE taskql.marks SET side = 'replica'")
        assert await side() == "replica"

        # Read-your-writes: this task's reads follow its writes to the primary (a task of its own, so
        # the flag stays there).
        async def after_a_write() -> str:
            follow_writes()
            return await side()

        assert await asyncio.create_task(after_a_write()) == "primary"
        assert await side() == "replica"

        # A read that must see every commit (a report's build) reads the replica once it has them all...
        async with db.read_caught_up(1.0) as conn:
            assert await conn.scalar(text("SELECT side FROM marks WHERE id = 1")) == "replica"
        # ... and the primary when the replica cannot catch up within the wait.
        replica_server.run_sql("STOP SLAVE SQL_THREAD")
        primary.run_sql("INSERT INTO taskql.marks VALUES (2, 'new')")
        async with db.read_caught_up(0.2) as conn:
            assert await conn.scalar(text("SELECT side FROM marks WHERE id = 1")) == "primary"
        replica_server.run_sql("START SLAVE SQL_THREAD")
        async with db.read_caught_up(5.0) as conn:  # waits for the replica, then reads it
            assert await conn.scalar(text("SELECT count(*) FROM marks WHERE side IN ('new', 'replica')")) == 2

        # Killed under a pooled connection: its first statement fails and runs again on the primary.
        replica_server.kill()
        assert await side() == "primary"
        assert not replica.usable
        # Its next check has not run yet: the connection refused, the read goes to the primary.
        replica.lag.usable = True
        assert await side() == "primary"
        assert not replica.usable
    finally:
        await db.dispose()


def _caught_up(replica: Replica) -> Callable[[], Any]:
    async def check() -> bool:
        await replica.lag.check()
        return replica.usable

    return check


async def test_a_report_build_reads_the_replica_once_it_has_caught_up(
    private_replication: PrivateReplication, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    primary, replica_server = private_replication.primary, private_replication.replica
    primary.create_database("taskql")
    settings = make_settings(
        database_url=primary.url("taskql"),
        database_replica_url=replica_server.url("taskql"),
        redis_url=private_redis.url,
        report_root=str(tmp_path),
        replica_max_lag_seconds=0.5,
        replica_lag_check_seconds=0.1,
    )
    services = build_services(settings)
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
    use_settings(settings)
    job_db = Database(engine, replica=create_replica(settings, engine, (1, 0), statement_timeout=False))
    use_job_engine(engine, job_db.replica)
    store = ReportStore(settings.report_root)
    try:
        await upgrade_to_head(services.db.engine)
        world = await report_world(services)
        rename = f"UPDATE taskql.projects SET name = '{ON_REPLICA_ONLY}' WHERE id = {world.project_id}"  # noqa: S608 - our constants
        first = await insert_report(services, world, ReportStatus.QUEUED)
        # The build waits until the replica holds the report's row, then reads the figures there.
        replica_server.run_sql(
            f"SELECT MASTER_GTID_WAIT('{primary.run_sql('SELECT @@gtid_binlog_pos').strip()}', 10); {rename}"
        )
        assert await build_report(first) == SUCCEEDED
        assert ON_REPLICA_ONLY in store.path_of(report_key(first), "html").read_text()

        # Lagging: the replica has not got the new report's row; the build reads the primary.
        replica_server.run_sql("STOP SLAVE SQL_THREAD")
        second = await insert_report(services, world, ReportStatus.QUEUED)
        assert await build_report(second) == SUCCEEDED
        assert ON_REPLICA_ONLY not in store.path_of(report_key(second), "html").read_text()
    finally:
        use_job_engine(None)
        use_settings(None)
        await job_db.dispose()
        await services.cache.redis.aclose()
        await services.db.dispose()


async def test_a_replica_behind_every_position_seen_counts_as_beyond_the_bound(
    private_replication: PrivateReplication,
) -> None:
    primary, replica_server = private_replication.primary, private_replication.replica
    primary.create_database("taskql")
    settings = make_settings(
        database_url=primary.url("taskql"), database_replica_url=replica_server.url("taskql")
    )
    reads = create_engine(settings, autocommit=True, pool=(1, 0))
    db = Database(reads, reads, create_replica(settings, reads, (1, 0)))
    assert db.replica is not None
    lag = db.replica.lag
    try:
        await _until(_caught_up(db.replica), "the replica caught up")
        replica_server.run_sql("STOP SLAVE SQL_THREAD")
        primary.run_sql("CREATE TABLE taskql.later (id INT PRIMARY KEY)")
        # A process starting now has seen one position, which the replica lacks: not usable, though
        # it has waited for no check yet.
        started = ReplicaLag(reads, db.replica.engine, max_lag_seconds=5, check_seconds=1)
        await started.check()
        assert not started.usable
        assert started.lag_seconds is not None
        assert started.lag_seconds > 5
        # The running one keeps the replica while the lag is within the bound.
        await lag.check()
        assert lag.usable
    finally:
        await db.dispose()
