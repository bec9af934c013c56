"""The server's CPU per taskUpdate (``make bench-writes``): where a write's time goes, before and after
a change to the write path.

1. A database of its own (``taskql_bench_writes``: the writes change its rows, so the reads' data set
   ``taskql_bench`` stays as the other benches expect it), migrated and seeded once with ``make bench``'s
   sizes through perf/shared/dataset.py; a Redis index of its own (flushed); the owner logged in.
2. Starts the production server (one uvicorn worker, the relay in it, pinned to CPU 0 on two cores).
3. Sends ``perf/operations/load/task_update.graphql`` (a new title and priority, the payload's task
   read back) one request after the other over one keep-alive connection, at most ``--rate`` a second,
   round-robin over ``--tasks`` tasks, each at the version its last answer gave. An untimed warm-up
   first, then the timed requests.
4. Prints the server process's CPU (user + system, from /proc) per request, over the timed requests
   and the relay's work they caused (counted until a second after the last answer):
   ``server_cpu_ms_per_write=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import time
from dataclasses import dataclass

import orjson
from sqlalchemy import select

from perf.shared import config
from perf.shared.cpu import cpu_seconds
from perf.shared.dataset import Viewer, ensure_database, load_dataset
from perf.shared.keepalive import KeepAlive
from perf.shared.load_mix import OPERATIONS
from perf.shared.pyload import loop_factory
from perf.shared.results import RESULTS, git_state
from perf.shared.servers import ServerSpec, running
from persistence.models import Task
from resolvers.context import Services
from schema.app import build_services
from schema.core.ids import encode_id

DATABASE = "taskql_bench_writes"
PORT = 18414
HEADERS = {"content-type": "application/json", "accept": "application/graphql-response+json"}
# The relay publishes a moment after each commit: its work for the last writes is counted too.
SETTLE_SECONDS = 1.0
_tasks = Task.__table__


@dataclass(frozen=True)
class Options:
    requests: int
    warmup: int
    rate: float
    tasks: int
    redis_url: str
    server_cpus: str | None


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m perf.write_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed taskUpdate requests")
    parser.add_argument("--warmup", type=int, default=300, help="untimed requests first")
    parser.add_argument("--rate", type=float, default=100.0, help="at most this many requests a second")
    parser.add_argument("--tasks", type=int, default=64, help="distinct tasks the updates go round")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="a Redis index of its own (flushed)"
    )
    two_cores = (os.cpu_count() or 1) >= 2
    parser.add_argument(
        "--server-cpus", default="0" if two_cores and shutil.which("taskset") else None, help="taskset list"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or args.rate <= 0 or args.tasks < 1:
        parser.error("--requests and --tasks at least 1, --warmup 0 or more, --rate above 0")
    return Options(args.requests, args.warmup, args.rate, args.tasks, args.redis_url, args.server_cpus)


def environment(options: Options) -> config.BenchEnvironment:
    base = config.BenchEnvironment.create().measuring(config.ENGINES[0])
    own = {
        "TASKQL_DATABASE_URL": f"{config.MARIADB_SERVER_URL}/{DATABASE}",
        "TASKQL_REDIS_URL": options.redis_url,
    }
    return config.BenchEnvironment({**base.variables, **own})


@dataclass
class Subjects:
    token: str
    # Global id -> the version the next update names.
    versions: dict[str, int]


async def _versions(services: Services, task_ids: list[int]) -> dict[str, int]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(_tasks.c.id, _tasks.c.version).where(_tasks.c.id.in_(task_ids)))
        return {encode_id("Task", row.id): int(row.version) for row in rows}


async def prepare(env: config.BenchEnvironment, options: Options) -> Subjects:
    await ensure_database(DATABASE)
    services = build_services(env.settings())
    try:
        await services.cache.redis.flushdb()
        dataset = await load_dataset(services, Viewer.OWNER, options.tasks)
        return Subjects(dataset.access_token, await _versions(services, dataset.task_ids))
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()


def update_body(task_id: str, version: int, number: int) -> bytes:
    variables = {
        "input": {"id": task_id, "version": version, "title": f"Write bench {number}", "priority": number % 5}
    }
    return orjson.dumps({"query": OPERATIONS["update"].body, "variables": variables})


async def send(url: str, subjects: Subjects, count: int, rate: float, start: int) -> int:
    """``count`` updates one after the other, no faster than ``rate``; the number that failed."""
    client = KeepAlive(url, {**HEADERS, "authorization": f"Bearer {subjects.token}"})
    task_ids = list(subjects.versions)
    failed = 0
    began = time.monotonic()
    try:
        for offset in range(count):
            number = start + offset
            wait = began + offset / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            task_id = task_ids[number % len(task_ids)]
            status, answer = await client.post(update_body(task_id, subjects.versions[task_id], number))
            payload = orjson.loads(answer)
            task = ((payload.get("data") or {}).get("taskUpdate") or {}).get("task")
            written = task is not None and task["title"] == f"Write bench {number}"
            if status != 200 or payload.get("errors") or not written:
                failed += 1
            if task is not None:
                subjects.versions[task_id] = int(task["version"])
    finally:
        client.close()
    return failed


async def measure(url: str, pid: int, subjects: Subjects, options: Options) -> tuple[float, float, int]:
    """(server CPU seconds, wall seconds, failures) of the timed requests."""
    await send(url, subjects, options.warmup, options.rate, 0)
    await asyncio.sleep(SETTLE_SECONDS)
    before, started = cpu_seconds(pid), time.monotonic()
    failed = await send(url, subjects, options.requests, options.rate, options.warmup)
    seconds = time.monotonic() - started
    await asyncio.sleep(SETTLE_SECONDS)
    return cpu_seconds(pid) - before, seconds, failed


def main() -> None:
    options = parse_options()
    env = environment(options)
    subjects = asyncio.run(prepare(env, options))
    spec = ServerSpec("graphql-writes", "schema.app:create_app", PORT)
    with (
        running([spec], env, workers=1, cpus=options.server_cpus, logs=RESULTS / "logs") as servers,
        asyncio.Runner(loop_factory=loop_factory()) as runner,
    ):
        server = servers[spec.name]
        url = f"{server.base_url}/graphql"
        cpu, seconds, failed = runner.run(measure(url, server.process.pid, subjects, options))
    git = git_state()
    print(
        f"commit={git.get('commit', '?')[:10]} dirty={git.get('dirty')} requests={options.requests} "
        f"seconds={seconds:.1f} rate={options.requests / seconds:.1f}/s failed={failed} "
        f"load={os.getloadavg()[0]:.2f}"
    )
    print(f"server_cpu_ms_per_write={cpu * 1000 / options.requests:.2f}")
    if failed:
        print(f"{failed} requests failed: see {RESULTS / 'logs' / (spec.name + '.log')}")
