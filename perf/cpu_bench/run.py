"""CPU per request of the load mix's reads on both execution engines (``make bench-cpu``).

1. Uses ``make bench``'s data set (database ``taskql_bench``, seeded once): the reads need only a
   viewer and the projects and tasks it sees. Registers the load's documents as trusted documents
   there, and logs the viewer in (a member by default, as the load's virtual users mostly are).
2. For each engine in turn (``TASKQL_EXECUTION_ENGINE=compiled``, then ``=resolvers``; the task-list
   cache off), starts the production server (one uvicorn worker) on 127.0.0.1, warms it up with every
   document, then sends each read document the same requests (the same variables, in the same order)
   over a few keep-alive connections. Two rounds by default, the second in the other order (compiled,
   resolvers, resolvers, compiled), so that a drift in the machine's load weighs on both engines alike.
3. Counts, per document, the server process's CPU and that of the MariaDB threads serving the server's
   connections (found by their ports, looked for every 0.1 s), per request over every round.
4. Prints a line per engine and document, ``search_db_ms=…``, and ends with
   ``mix_cpu_ms=<compiled> resolvers_mix_cpu_ms=<resolvers> ratio=<compiled/resolvers>``.

``--tracing`` (``make bench-cpu TRACING=1``) compares the compiled engine with tracing on (``traced``:
``TASKQL_TRACING_ENABLED``, every request sampled or ``--trace-ratio`` of them, spans exported by
OTLP/HTTP to a local sink in the bench's process, persistence/tracing.py) against the same server with
it off (``untraced``), in the same alternating order, and counts the server's CPU alone (MariaDB's does
the same work either way); it ends with ``mix_cpu_ms=<traced> untraced_mix_cpu_ms=… ratio=…``, server
CPU only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from perf.cpu_bench.connections import ConnectionThreads, ThreadLedger
from perf.cpu_bench.documents import Subjects, bodies, mix_shares, read_operations
from perf.cpu_bench.otlp_sink import otlp_sink
from perf.cpu_bench.report import (
    DocumentCpu,
    EngineRun,
    closing_line,
    combined,
    document_line,
    search_line,
    write_results,
)
from perf.shared import config
from perf.shared.cpu import cpu_seconds, service_pids
from perf.shared.dataset import Viewer, ensure_database, load_dataset
from perf.shared.keepalive import KeepAlive
from perf.shared.load_documents import register
from perf.shared.load_mix import LoadOperation
from perf.shared.progress import stage
from perf.shared.pyload import loop_factory
from perf.shared.results import RESULTS, git_state
from perf.shared.servers import REPO, Server, ServerSpec, running
from persistence.models import Project
from persistence.queries.scope import Scope, visible_project
from resolvers.context import Services
from schema.app import build_services
from schema.core.ids import encode_id

HEADERS = {"content-type": "application/json", "accept": "application/graphql-response+json"}
WARMUP_SEED, TIMED_SEED = 1, 2
# What --tracing compares, both on the compiled engine.
TRACING_VARIANTS = ("traced", "untraced")
OBSERVE_SECONDS = 0.1
_projects = Project.__table__


@dataclass(frozen=True)
class Options:
    rounds: int
    requests: int
    warmup: int
    connections: int
    max_seconds: float
    viewer: Viewer
    sample: int
    server_cpus: str | None
    client_cpu: int | None
    tracing: bool = False
    trace_ratio: float = 1.0


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m perf.cpu_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs of each engine, alternating the order")
    parser.add_argument(
        "--requests", type=int, default=300, help="timed requests per document, engine and round"
    )
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per document first")
    parser.add_argument("--connections", type=int, default=2, help="keep-alive connections sending them")
    parser.add_argument(
        "--max-seconds", type=float, default=45.0, help="a document's timed requests stop after this"
    )
    # Members are most of the load's virtual users: their lists add the membership filter.
    parser.add_argument("--viewer", type=Viewer, choices=list(Viewer), default=Viewer.MEMBER)
    parser.add_argument("--sample", type=int, default=256, help="distinct tasks the task page picks from")
    two_cores = (os.cpu_count() or 1) >= 2
    parser.add_argument(
        "--server-cpus", default="0" if two_cores and shutil.which("taskset") else None, help="taskset list"
    )
    parser.add_argument("--client-cpu", type=int, default=1 if two_cores else None)
    parser.add_argument(
        "--tracing", action="store_true", help="the compiled engine traced (OTLP to a local sink) against not"
    )
    parser.add_argument(
        "--trace-ratio", type=float, default=1.0, help="with --tracing: the share of requests sampled"
    )
    args = parser.parse_args(argv)
    for name in ("rounds", "requests", "connections"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if not 0 < args.trace_ratio <= 1:
        parser.error("--trace-ratio must be above 0 and at most 1")
    if args.warmup < 0 or args.max_seconds <= 0:
        parser.error("--warmup must be 0 or more and --max-seconds above 0")
    return Options(
        args.rounds, args.requests, args.warmup, args.connections, args.max_seconds, args.viewer, args.sample,
        args.server_cpus, args.client_cpu, args.tracing, args.trace_ratio,
    )  # fmt: skip


async def _visible_projects(services: Services, scope: Scope) -> list[int]:
    async with services.db.read() as conn:
        found = await conn.execute(
            select(_projects.c.id)
            .where(
                _projects.c.organization_id == scope.organization_id, visible_project(scope, _projects.c.id)
            )
            .order_by(_projects.c.id)
        )
        return [int(i) for i in found.scalars()]


async def _prepare(env: config.BenchEnvironment, options: Options) -> tuple[Subjects, str]:
    """The data set seeded, the documents registered, a viewer logged in: what the reads name, and
    the viewer's access token."""
    await ensure_database()
    services = build_services(env.settings())
    try:
        await services.cache.redis.flushdb()  # the bench's own Redis index: stale sessions go
        dataset = await load_dataset(services, options.viewer, options.sample)
        await register(services.db, services.settings)
        projects = await _visible_projects(services, dataset.scope)
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
    subjects = Subjects(
        project_ids=[encode_id("Project", i) for i in projects],
        task_ids=[encode_id("Task", i) for i in dataset.task_ids],
    )
    return subjects, dataset.access_token


@dataclass
class Sent:
    requests: int = 0
    errors: int = 0


def _failed(status: int, body: bytes) -> bool:
    """Not a full answer: an HTTP error, GraphQL errors, or a top field that came back null."""
    if status != 200:
        return True
    payload = orjson.loads(body)
    data = payload.get("data")
    return bool(payload.get("errors")) or not data or None in data.values()


async def _send_all(url: str, token: str, requests: list[bytes], connections: int, seconds: float) -> Sent:
    """Sends ``requests`` in order over ``connections`` keep-alive connections until they are done or
    ``seconds`` have passed."""
    sent, pending = Sent(), iter(requests)
    deadline = time.monotonic() + seconds

    async def connection() -> None:
        client = KeepAlive(url, {**HEADERS, "authorization": f"Bearer {token}"})
        try:
            for body in pending:
                status, answer = await client.post(body)
                sent.requests += 1
                sent.errors += int(_failed(status, answer))
                if time.monotonic() > deadline:
                    return
        finally:
            client.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return sent


@dataclass(frozen=True)
class Measured:
    """What one engine's server is measured by: its process and the MariaDB threads serving it."""

    server: Server
    mariadb_pid: int
    # None under --tracing: tracing changes nothing MariaDB does, and the processlist's polling met
    # a MariaDB 10.11.19 crash (signal 11, a request's query being optimized meanwhile) twice.
    connections: ConnectionThreads | None

    async def threads(self) -> frozenset[int]:
        if self.connections is None:
            return frozenset()
        return await self.connections.current()


async def _measure_document(
    measured: Measured, operation: LoadOperation, requests: list[bytes], token: str, options: Options
) -> DocumentCpu:
    url = f"{measured.server.base_url}/graphql"
    ledger = ThreadLedger(measured.mariadb_pid)
    ledger.observe(await measured.threads())
    server_before, whole_before = cpu_seconds(measured.server.process.pid), cpu_seconds(measured.mariadb_pid)
    started = time.monotonic()
    sending = asyncio.create_task(_send_all(url, token, requests, options.connections, options.max_seconds))
    while not sending.done():
        # The pool may open an overflow connection for a burst and close it after: look often.
        await asyncio.wait({sending}, timeout=OBSERVE_SECONDS)
        ledger.observe(await measured.threads())
    sent = sending.result()
    seconds = time.monotonic() - started
    server_after, whole_after = cpu_seconds(measured.server.process.pid), cpu_seconds(measured.mariadb_pid)
    return DocumentCpu(
        key=operation.key,
        name=operation.name,
        requests=sent.requests,
        errors=sent.errors,
        seconds=seconds,
        server_seconds=server_after - server_before,
        mariadb_seconds=ledger.seconds(),
        mariadb_process_seconds=whole_after - whole_before,
        mariadb_threads=ledger.threads,
    )


async def measure_engine(
    engine: str, server: Server, subjects: Subjects, token: str, options: Options, label: str
) -> EngineRun:
    """Warms every document up, then times each in turn, on the one server of ``engine``."""
    mariadb_pid = next((pid for name, pid in service_pids().items() if name in ("mariadbd", "mysqld")), None)
    if mariadb_pid is None:
        raise RuntimeError("no mariadbd (or mysqld) process on this machine: MariaDB must run here")
    url = make_url(config.MARIADB_SERVER_URL)
    engine_for_probe = create_async_engine(url)
    try:
        async with engine_for_probe.connect() as probe:
            port = url.port or 3306
            watched = None if options.tracing else ConnectionThreads(probe, server.process.pid, port)
            measured = Measured(server, mariadb_pid, watched)
            operations = read_operations()
            for operation in operations:
                warmup = bodies(operation, subjects, options.warmup, WARMUP_SEED)
                await _send_all(f"{server.base_url}/graphql", token, warmup, options.connections, 60.0)
            documents = []
            for operation in operations:
                requests = bodies(operation, subjects, options.requests, TIMED_SEED)
                document = await _measure_document(measured, operation, requests, token, options)
                print(document_line(label, document), flush=True)
                documents.append(document)
    finally:
        await engine_for_probe.dispose()
    return EngineRun(engine, documents)


def engine_order(rounds: int, variants: tuple[str, ...] = config.ENGINES) -> list[tuple[int, str]]:
    """(round, engine) in the order they run: odd rounds as ``variants`` lists them, even ones
    reversed (compiled, resolvers, resolvers, compiled, ...)."""
    order = []
    for number in range(1, rounds + 1):
        engines = variants if number % 2 else variants[::-1]
        order += [(number, engine) for engine in engines]
    return order


def _context(options: Options, subjects: Subjects) -> dict[str, Any]:
    return {
        "git": git_state(),
        "options": {**asdict(options), "viewer": options.viewer.value},
        "dataset": {
            "database": config.DATABASE_NAME,
            "sizes": asdict(config.SIZES),
            "projects": len(subjects.project_ids),
            "tasks": len(subjects.task_ids),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
    }


def server_environment(
    base: config.BenchEnvironment, variant: str, sink: str, ratio: float = 1.0
) -> config.BenchEnvironment:
    """The server's variables for an engine, or for a --tracing variant (compiled, traced or not)."""
    if variant not in TRACING_VARIANTS:
        return base.measuring(variant)
    measuring = base.measuring("compiled")
    if variant == "untraced":
        return measuring
    traced = {
        "TASKQL_TRACING_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": str(ratio),
        "OTEL_SERVICE_NAME": "taskql-bench",
    }
    return config.BenchEnvironment({**measuring.variables, **traced})


def main() -> None:
    options = parse_options()
    base = config.BenchEnvironment.create()
    variants = TRACING_VARIANTS if options.tracing else config.ENGINES
    with stage(f"preparing {config.DATABASE_NAME} (seeded once) and registering the documents"):
        subjects, token = asyncio.run(_prepare(base.measuring(config.ENGINES[0]), options))
    if options.client_cpu is not None:
        # The requests' sender away from the server's CPU (MariaDB floats between both).
        os.sched_setaffinity(0, {options.client_cpu})
    rounds: list[tuple[int, EngineRun]] = []
    with otlp_sink() as (sink, received):
        for number, engine in engine_order(options.rounds, variants):
            spec = ServerSpec(f"graphql-{engine}-{number}", "schema.app:create_app", config.CPU_BENCH_PORT)
            label = f"round {number} {engine}"
            environment = server_environment(base, engine, sink, options.trace_ratio)
            with (
                stage(label),
                running(
                    [spec], environment, workers=1, cpus=options.server_cpus, logs=RESULTS / "logs"
                ) as servers,
                asyncio.Runner(loop_factory=loop_factory()) as runner,
            ):
                run = runner.run(measure_engine(engine, servers[spec.name], subjects, token, options, label))
            rounds.append((number, run))
    if options.tracing:
        print(f"the OTLP sink received {received.exports} exports, {received.bytes:,} bytes")
    runs = [combined([run for _, run in rounds if run.engine == engine]) for engine in variants]
    errors = sum(document.errors for run in runs for document in run.documents)
    shares = mix_shares()
    each_round = [{"round": number, **asdict(run)} for number, run in rounds]
    path = write_results(runs, shares, {**_context(options, subjects), "rounds": each_round})
    print(f"all rounds ({options.rounds}), per request:")
    for run in runs:
        for document in run.documents:
            print(document_line(run.engine, document))
    print(f"results: {path.relative_to(REPO)}")
    if errors:
        # Counted all the same (a failed request costs CPU too), but the figures are then suspect.
        print(f"{errors} requests failed: see the servers' logs under perf/results/logs/")
    print(search_line(runs))
    measured, against = runs
    print(closing_line(measured, against, shares))
