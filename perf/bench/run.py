"""GraphQL against hand-written endpoints, side by side on MariaDB (``make bench``).

1. Makes ``taskql_bench`` if missing, migrates it, seeds 1,000 users, 200 projects and 50,000
   tasks once, and logs a viewer in.
2. Counts the SQL statements of the GraphQL list request (an in-process probe).
3. Starts the real server (``schema.app:create_app``) and the raw app (``perf.bench.raw_app``) as uvicorn
   processes with the same workers, loop and settings (the task-list cache off, so both read every list
   from MariaDB; ``--engine`` the GraphQL server's execution engine), and checks that both answer with
   the same bytes for every request the load will send.
4. Loads each endpoint in turn (never two at once) with the same generator, connections, warm-up
   and duration, for several rounds, alternating which side goes first: the read pairs, then the write
   pair (``taskUpdate`` against the raw app's update, perf/bench/write_load.py), whose every run is
   checked against the rows it wrote (perf/bench/write_check.py).
5. Prints the table and ends with ``list_ratio=… byid_ratio=… list_sql=… engine=… write_ratio=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson

from perf.bench.load import HttpRequest, LoadResult, Target, load_tool, run_load
from perf.bench.report import Run, closing_line, summarize, table, write_results
from perf.bench.write_check import Ledger, WriteMismatch, choose_owned_tasks, list_page_ids
from perf.bench.write_load import WriteSpec, run_write_load
from perf.bench.writes import GRAPHQL as GRAPHQL_WRITE
from perf.bench.writes import RAW as RAW_WRITE
from perf.bench.writes import UPDATE_MUTATION, write_request, written_version
from perf.shared import config
from perf.shared.dataset import Dataset, Viewer, ensure_database, load_dataset
from perf.shared.progress import stage
from perf.shared.results import RESULTS, git_state
from perf.shared.servers import REPO, Server, ServerSpec, running
from resolvers.auth import session_cache_key
from schema.app import build_services, create_app
from schema.core.ids import encode_id

LIST_QUERY = "{ tasks(first: 50) { nodes { title status project { name } assignee { name email } } } }"
BYID_QUERY = "query ($id: ID!) { task(id: $id) { title status project { name } assignee { name email } } }"
LIST_SIZE = 50

GRAPHQL = ServerSpec("graphql", "schema.app:create_app", config.GRAPHQL_PORT)
RAW = ServerSpec("raw", "perf.bench.raw_app:create_raw_app", config.RAW_PORT)


@dataclass(frozen=True)
class Options:
    rounds: int
    seconds: float
    warmup: float
    connections: int
    workers: int
    viewer: Viewer
    sample: int
    server_cpus: str | None
    load_cpus: str | None
    load_tool: str
    engine: str
    write_tasks: int


@dataclass(frozen=True)
class WritePair:
    """The write pair's endpoints (name: write side and server), the tasks each load connection owns,
    and the ledger that checks each run against the rows."""

    sides: dict[str, tuple[str, str]]
    token: str
    owned: list[list[int]]
    ledger: Ledger

    @property
    def task_ids(self) -> list[int]:
        return [task_id for tasks in self.owned for task_id in tasks]


@dataclass(frozen=True)
class StatementCount:
    cold: int  # the session cache empty: the session row is read from MariaDB
    warm: int  # the session cached, as in every timed request


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m perf.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed duration of each run")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed run before each timed one")
    # Below the pool's 10 connections: more would churn overflow connections on every request.
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, the same for both")
    parser.add_argument("--viewer", type=Viewer, choices=list(Viewer), default=Viewer.OWNER)
    parser.add_argument("--sample", type=int, default=256, help="distinct task ids the by-id load picks")
    two_cores = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    parser.add_argument("--server-cpus", default="0" if two_cores else None)
    parser.add_argument("--load-cpus", default="1" if two_cores else None)
    parser.add_argument("--load-tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--engine",
        choices=config.ENGINES,
        default=config.ENGINES[0],
        help="the GraphQL server's execution engine",
    )
    parser.add_argument(
        "--write-tasks", type=int, default=4, help="tasks each connection of the write pair owns"
    )
    args = parser.parse_args(argv)
    return Options(
        args.rounds, args.seconds, args.warmup, args.connections, args.workers, args.viewer,
        args.sample, args.server_cpus, args.load_cpus, args.load_tool, args.engine, args.write_tasks,
    )  # fmt: skip


async def _count_list_statements(env: config.BenchEnvironment, dataset: Dataset) -> StatementCount:
    """The list request through the real app in-process, with the statement count exposed."""
    services = build_services(env.settings(expose_statement_count=True))
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app, client=(config.HOST, 50000))
    headers = {"authorization": f"Bearer {dataset.access_token}"}
    counts: list[int] = []
    try:
        await services.cache.delete(session_cache_key(dataset.session_id))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(2):
                body = (await client.post("/graphql", json={"query": LIST_QUERY}, headers=headers)).json()
                assert "errors" not in body, body
                assert len(body["data"]["tasks"]["nodes"]) == LIST_SIZE, body
                counts.append(int(body["extensions"]["sqlStatements"]))
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
    return StatementCount(cold=counts[0], warm=counts[1])


async def _prepare(
    env: config.BenchEnvironment, options: Options
) -> tuple[Dataset, StatementCount, list[list[int]]]:
    await ensure_database()
    services = build_services(env.settings())
    try:
        await services.cache.redis.flushdb()  # the bench's own Redis index: stale sessions go
        dataset = await load_dataset(services, options.viewer, options.sample)
        engine = services.db.engine
        shown = set(dataset.task_ids) | await list_page_ids(engine, dataset.scope, LIST_SIZE)
        owned = await choose_owned_tasks(
            engine, dataset.scope, options.connections, options.write_tasks, shown
        )
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
    return dataset, await _count_list_statements(env, dataset), owned


def _targets(servers: dict[str, Server], dataset: Dataset) -> dict[str, Target]:
    auth = {"Authorization": f"Bearer {dataset.access_token}"}
    post = {**auth, "Content-Type": "application/json"}
    ids = [encode_id("Task", i) for i in dataset.task_ids]
    graphql, raw = servers[GRAPHQL.name].base_url, servers[RAW.name].base_url
    list_body = orjson.dumps({"query": LIST_QUERY}).decode()
    by_id_bodies = [orjson.dumps({"query": BYID_QUERY, "variables": {"id": i}}).decode() for i in ids]
    return {
        "graphql_list": Target("graphql_list", graphql, [HttpRequest("POST", "/graphql", post, list_body)]),
        "raw_list": Target("raw_list", raw, [HttpRequest("GET", f"/raw/tasks?first={LIST_SIZE}", auth)]),
        "graphql_byid": Target(
            "graphql_byid", graphql, [HttpRequest("POST", "/graphql", post, b) for b in by_id_bodies]
        ),
        "raw_byid": Target("raw_byid", raw, [HttpRequest("GET", f"/raw/tasks/{i}", auth) for i in ids]),
    }


def _write_pair(
    servers: dict[str, Server], env: config.BenchEnvironment, dataset: Dataset, owned: list[list[int]]
) -> WritePair:
    sides = {
        "graphql_write": (GRAPHQL_WRITE, servers[GRAPHQL.name].base_url),
        "raw_write": (RAW_WRITE, servers[RAW.name].base_url),
    }
    return WritePair(sides, dataset.access_token, owned, Ledger(env.variables["TASKQL_DATABASE_URL"]))


def _owned_versions(writes: WritePair, versions: dict[int, int]) -> list[list[tuple[str, int]]]:
    return [[(encode_id("Task", i), versions[i]) for i in tasks] for tasks in writes.owned]


def verify_same_write_answers(writes: WritePair) -> None:
    """One write on each side to the same task, one after the other: both go through, write what
    they acknowledge, and answer alike (the GraphQL answer's extensions and the versions aside)."""
    task_id = writes.owned[0][0]
    answers: dict[str, Any] = {}
    with httpx.Client(timeout=10.0) as client:
        for name, (kind, base_url) in writes.sides.items():
            before = writes.ledger.snapshot(writes.task_ids)
            version = before.versions[task_id]
            request = write_request(kind, encode_id("Task", task_id), version, f"Bench check {name}")
            headers = {
                "Authorization": f"Bearer {writes.token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"bench-check-{uuid.uuid4().hex}",
            }
            response = client.post(base_url + request.path, content=request.body, headers=headers)
            written = written_version(response.status_code, response.content)
            assert written == version + 1, (name, response.status_code, response.text[:500])
            writes.ledger.check(name, 1, before)
            answer = orjson.loads(response.content)
            answer.pop("extensions", None)
            answer["data"]["taskUpdate"]["task"]["version"] = None
            answers[name] = answer
    assert answers["graphql_write"] == answers["raw_write"], answers


def _send(client: httpx.Client, target: Target, request: HttpRequest) -> bytes:
    response = client.request(
        request.method, target.base_url + request.path, headers=request.headers, content=request.body or None
    )
    assert response.status_code == 200, (target.name, response.status_code, response.text[:500])
    return response.content


def verify_same_json(targets: dict[str, Target]) -> int:
    """Every request the load sends gets the same data from both servers (so the race is fair); the
    GraphQL answer also carries its `extensions` (the cost and budget, about 100 bytes)."""
    checked = 0
    with httpx.Client(timeout=10.0) as client:
        for graphql_name, raw_name in (("graphql_list", "raw_list"), ("graphql_byid", "raw_byid")):
            graphql, raw = targets[graphql_name], targets[raw_name]
            for g, r in zip(graphql.requests, raw.requests, strict=True):
                from_graphql, from_raw = _send(client, graphql, g), _send(client, raw, r)
                answered, expected = orjson.loads(from_graphql), orjson.loads(from_raw)
                assert "errors" not in answered, (graphql_name, from_graphql[:300])
                assert set(answered) - {"extensions"} == set(expected), (graphql_name, from_graphql[:300])
                assert answered["data"] == expected["data"], (
                    graphql_name,
                    from_graphql[:300],
                    from_raw[:300],
                )
                checked += 1
        listed = orjson.loads(_send(client, targets["raw_list"], targets["raw_list"].requests[0]))
    assert len(listed["data"]["tasks"]["nodes"]) == LIST_SIZE
    return checked


def _measure_one(tool: str, target: Target, options: Options) -> LoadResult:
    run_load(tool, target, connections=options.connections, seconds=options.warmup, cpus=options.load_cpus)
    return run_load(
        tool, target, connections=options.connections, seconds=options.seconds, cpus=options.load_cpus
    )


def _measure_write(
    name: str, number: int, writes: WritePair, options: Options, checks: list[dict[str, Any]]
) -> LoadResult:
    """The warm-up and the timed run, each from the versions the rows hold now and checked after."""
    kind, base_url = writes.sides[name]
    result = None
    for timed, seconds in ((False, options.warmup), (True, options.seconds)):
        before = writes.ledger.snapshot(writes.task_ids)
        spec = WriteSpec(kind, base_url, writes.token, _owned_versions(writes, before.versions))
        result = run_write_load(spec, seconds=seconds, cpus=options.load_cpus)
        written = writes.ledger.check(name, result.succeeded, before, result.first_refusal)
        checks.append(
            {"endpoint": name, "round": number, "timed": timed, "succeeded": result.succeeded}
            | asdict(written)
        )
        if result.first_refusal is not None:
            print(f"{name}: {result.load.errors} refused, the first: {result.first_refusal}", flush=True)
    assert result is not None
    return result.load


def measure(
    tool: str, targets: dict[str, Target], writes: WritePair, options: Options
) -> tuple[list[Run], list[dict[str, Any]]]:
    """Each pair back to back, one endpoint at a time, the write pair last; odd rounds start with the
    GraphQL side, even rounds with the raw side. Also returns each write run's check."""
    runs: list[Run] = []
    checks: list[dict[str, Any]] = []
    pairs = (("graphql_list", "raw_list"), ("graphql_byid", "raw_byid"), ("graphql_write", "raw_write"))
    for number in range(1, options.rounds + 1):
        for pair in pairs:
            order = pair if number % 2 else pair[::-1]
            for name in order:
                if name in writes.sides:
                    result = _measure_write(name, number, writes, options, checks)
                else:
                    result = _measure_one(tool, targets[name], options)
                runs.append(Run(name, number, result))
                print(
                    f"round {number} {name:13} {result.rps:8.0f} req/s  p50 {result.p50_us / 1000:6.2f} ms"
                    f"  p99 {result.p99_us / 1000:6.2f} ms  errors {result.errors}",
                    flush=True,
                )
    return runs, checks


def _context(
    options: Options, tool: str, dataset: Dataset, statements: StatementCount, writes: WritePair
) -> dict[str, Any]:
    return {
        "git": git_state(),
        "options": {**asdict(options), "viewer": options.viewer.value},
        "load_tool": tool,
        "list_sql": asdict(statements),
        "dataset": {
            "database": config.DATABASE_NAME,
            "sizes": asdict(config.SIZES),
            "viewer_email": dataset.email,
            "by_id_tasks": len(dataset.task_ids),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "queries": {"list": LIST_QUERY, "byid": BYID_QUERY, "write": UPDATE_MUTATION},
        "write_tasks": writes.owned,
    }


def main() -> None:
    options = parse_options()
    env = config.BenchEnvironment.create().measuring(options.engine)
    with stage(f"preparing {config.DATABASE_NAME} (seeded once)"):
        dataset, statements, owned = asyncio.run(_prepare(env, options))
    print(f"list request: {statements.warm} SQL statements (session cached), {statements.cold} cold")
    tool = load_tool(options.load_tool)
    logs = RESULTS / "logs"
    with running(
        [GRAPHQL, RAW], env, workers=options.workers, cpus=options.server_cpus, logs=logs
    ) as servers:
        targets = _targets(servers, dataset)
        writes = _write_pair(servers, env, dataset, owned)
        print(f"same JSON from both servers for {verify_same_json(targets)} requests", flush=True)
        try:
            verify_same_write_answers(writes)
            with stage(f"measuring: {options.rounds} rounds"):
                runs, checks = measure(tool, targets, writes, options)
        except WriteMismatch as mismatch:
            raise SystemExit(f"the write pair's rows do not match its answers: {mismatch.code}") from None
        verify_same_json(targets)  # still the same answers after the load
    print(f"write runs checked against their rows: {len(checks)}, every write accounted for")
    summaries = summarize(runs)
    context = {**_context(options, tool, dataset, statements, writes), "write_checks": checks}
    path = write_results(runs, summaries, context)
    print(table(summaries, runs))
    print(f"results: {path.relative_to(REPO)}")
    print(closing_line(runs, statements.warm, options.engine))
