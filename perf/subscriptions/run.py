"""Live updates under load: subscribers over two server processes (``make bench-subscriptions``).

1. Uses the bench data set (``taskql_bench``, seeded once as for ``make bench``).
2. Picks ``--projects`` projects with at least ``--per-project`` members and makes each member a
   subscriber of its project: one WebSocket connection (graphql-transport-ws) and one
   ``taskEvents`` subscription each, alternately on two uvicorn processes, so every event crosses
   processes through Redis.
3. Before any subscriber connects, sends ``--alone-seconds`` of the same updates and measures the
   servers' CPU per write (mutation, relay and derivation; no fan-out). Then connects the
   subscribers and warms up: one update per project, until every subscriber has it (so every
   subscription is live before the clock starts).
4. For ``--seconds``, the writer sends ``--rate`` ``taskUpdate`` mutations per second (open loop:
   on schedule, whether or not earlier ones have answered), round robin over the projects and
   alternately to each process; each puts a marker in the title that the subscribers read back.
5. Waits for the stragglers, then reports deliveries (expected from the updates that committed,
   received, lost, duplicated), delivery latency (from the mutation's send to the subscriber's
   receipt) and the write path's latency, with p50/p95/p99 beside the seed's targets; the servers'
   CPU per write (step 3) and per delivery (the timed phase's CPU less its writes' share, over the
   deliveries); and writes everything as JSON.

A benchmark, not a test: it prints figures and exits 0 when it ran; the bars are read, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import insert, select

from perf.shared import config
from perf.shared.cpu import cpu_seconds, service_pids
from perf.shared.dataset import ensure_database, ensure_seeded
from perf.shared.progress import stage
from perf.shared.results import RESULTS
from perf.shared.servers import REPO, Server, ServerSpec, running
from perf.subscriptions.subscribers import Subscriber, Tally, run_subscriber
from perf.subscriptions.writer import TaskState, Update, Writes, write
from persistence.models import AuthSession, Project, ProjectMember, Task
from persistence.models.base import utcnow
from resolvers.auth import login
from resolvers.context import RequestContext, Services
from resolvers.tokens import issue_access_token, new_refresh_token, new_session_id
from schema.app import build_services
from schema.core.ids import encode_id

PORTS = (18421, 18422)
# The seed's "Write Operations" row (p50/p95/p99, ms) and the issue's delivery bar.
WRITE_TARGETS_MS = (120.0, 300.0, 800.0)
DELIVERY_P99_BAR_MS = 1000.0
# The warm-up only shows every subscription is live: slowly enough that few updates are shed.
WARMUP_RATE = 20.0
WARMUP_ATTEMPTS = 5
CONNECT_BATCH = 50  # subscribers connecting at once: a page load, not a thundering herd


@dataclass(frozen=True)
class Options:
    projects: int
    per_project: int
    rate: float
    seconds: float
    drain: float
    warmup_timeout: float
    alone_seconds: float


@dataclass
class ProjectPlan:
    project_id: int
    subscriber_user_ids: list[int]
    tasks: list[TaskState]


@dataclass(frozen=True)
class Setup:
    plans: list[ProjectPlan]
    tokens: dict[int, str]  # per subscribing user
    writer_token: str


def _parse_options() -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m perf.subscriptions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--per-project", type=int, default=10, help="subscribers per project")
    parser.add_argument("--rate", type=float, default=100.0, help="task updates per second (all projects)")
    parser.add_argument("--seconds", type=float, default=60.0, help="timed duration")
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for late deliveries")
    parser.add_argument("--warmup-timeout", type=float, default=120.0)
    parser.add_argument(
        "--alone-seconds", type=float, default=10.0, help="writes without subscribers, for CPU per write"
    )
    args = parser.parse_args()
    return Options(
        args.projects,
        args.per_project,
        args.rate,
        args.seconds,
        args.drain,
        args.warmup_timeout,
        args.alone_seconds,
    )


def _tasks_per_project(options: Options) -> int:
    """One task per update (the warm-up's and the timed ones), so no task is written twice in a run:
    an event's task then shows its own update's marker, never a later one's."""
    return 1 + math.ceil(options.rate * (options.seconds + options.alone_seconds) / options.projects)


async def _plan(services: Services, organization_id: int, options: Options) -> list[ProjectPlan]:
    """The first projects (by id) with enough members; their members by id; a few tasks each."""
    projects, members, tasks = Project.__table__, ProjectMember.__table__, Task.__table__
    plans: list[ProjectPlan] = []
    async with services.db.read() as conn:
        candidates = (
            await conn.execute(
                select(projects.c.id)
                .where(projects.c.organization_id == organization_id, projects.c.archived_at.is_(None))
                .order_by(projects.c.id)
            )
        ).scalars()
        for project_id in candidates:
            user_ids = (
                (
                    await conn.execute(
                        select(members.c.user_id)
                        .where(members.c.project_id == project_id)
                        .order_by(members.c.user_id)
                        .limit(options.per_project)
                    )
                )
                .scalars()
                .all()
            )
            if len(user_ids) < options.per_project:
                continue
            task_rows = (
                await conn.execute(
                    select(tasks.c.id, tasks.c.version)
                    .where(tasks.c.project_id == project_id, tasks.c.deleted_at.is_(None))
                    .order_by(tasks.c.id)
                    .limit(_tasks_per_project(options))
                )
            ).all()
            if len(task_rows) < _tasks_per_project(options):
                continue
            plans.append(
                ProjectPlan(project_id, list(user_ids), [TaskState(r.id, r.version) for r in task_rows])
            )
            if len(plans) == options.projects:
                break
    if len(plans) < options.projects:
        raise SystemExit(
            f"only {len(plans)} projects have {options.per_project} members and "
            f"{_tasks_per_project(options)} tasks"
        )
    return plans


async def _sessions(services: Services, user_ids: set[int]) -> dict[int, str]:
    """One session per subscribing user, written directly (1,000 argon2 logins would only add setup
    time, and login is not what this measures); the tokens are the ones login issues."""
    now = utcnow()
    expires = now + timedelta(seconds=services.settings.refresh_token_ttl_seconds)
    rows, tokens = [], {}
    for user_id in sorted(user_ids):
        session_id = new_session_id()
        refresh = new_refresh_token(session_id)
        rows.append(
            {"id": session_id, "user_id": user_id, "refresh_token_hash": refresh.hash, "expires_at": expires}
        )
        tokens[user_id] = issue_access_token(
            services.settings, user_id=user_id, session_id=session_id, now=now
        )
    async with services.db.unit_of_work() as conn:
        await conn.execute(insert(AuthSession), rows)
    return tokens


async def _setup(env: config.BenchEnvironment, options: Options) -> Setup:
    await ensure_database()
    services = build_services(env.settings())
    try:
        organization_id = await ensure_seeded(services)
        plans = await _plan(services, organization_id, options)
        tokens = await _sessions(services, {u for p in plans for u in p.subscriber_user_ids})
        writer = await login(RequestContext(services), email=config.OWNER_EMAIL, password=config.PASSWORD)
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
    return Setup(plans, tokens, writer.access_token)


def _updates(plans: list[ProjectPlan], *, first: int, count: int, rate: float) -> list[Update]:
    """``count`` updates due from now at ``rate``/s, round robin over the projects, each marker on a
    task of its own (the plan's ``number // projects``-th of its project)."""
    start = time.perf_counter() + 0.05
    updates = []
    for tick in range(count):
        number = first + tick
        plan = plans[number % len(plans)]
        task = plan.tasks[(number // len(plans)) % len(plan.tasks)]
        updates.append(Update(number, start + tick / rate, task, plan.project_id))
    return updates


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1)}


def _deliveries(
    tally: Tally, writes: Writes, subscribers_of: dict[int, int]
) -> tuple[dict[str, Any], list[float]]:
    """Expected (each written marker times its project's subscribers) against what arrived."""
    expected = received = duplicates = 0
    latencies: list[float] = []
    first_arrival, last_arrival = float("inf"), 0.0
    for number, due in writes.due_at.items():
        if number not in writes.succeeded:
            continue  # refused: no event, nothing to deliver (counted among the failed writes)
        expected += subscribers_of[writes.project_of[number]]
        arrivals = tally.arrivals.get(number, [])
        distinct = {subscriber for subscriber, _ in arrivals}
        received += len(distinct)
        duplicates += len(arrivals) - len(distinct)
        for _, at in arrivals:
            latencies.append((at - due) * 1000)
            first_arrival, last_arrival = min(first_arrival, at), max(last_arrival, at)
    span = last_arrival - first_arrival if received else 0.0
    counts = {
        "expected": expected,
        "received": received,
        "lost": expected - received,
        "duplicates": duplicates,
        "per_second": round(received / span, 1) if span > 0 else 0.0,
    }
    return counts, latencies


async def _until_delivered(
    tally: Tally, writes: Writes, subscribers_of: dict[int, int], limit: float
) -> None:
    deadline = time.perf_counter() + limit
    # Polling: the tally is filled by a thousand client tasks, none of which knows it completes it.
    while _deliveries(tally, writes, subscribers_of)[0]["lost"] and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


async def _connect_all(subscribers: list[Subscriber], tally: Tally, limit: float) -> list[asyncio.Task[None]]:
    """Connects in batches; a client that fails on the way ends the bench at once."""
    clients: list[asyncio.Task[None]] = []
    deadline = time.perf_counter() + limit
    for start in range(0, len(subscribers), CONNECT_BATCH):
        readies = [asyncio.Event() for _ in subscribers[start : start + CONNECT_BATCH]]
        batch = [
            asyncio.create_task(run_subscriber(s, tally, r))
            for s, r in zip(subscribers[start : start + CONNECT_BATCH], readies, strict=True)
        ]
        clients += batch
        while not all(r.is_set() for r in readies):
            failed = next((c for c in batch if c.done()), None)
            if failed is not None:
                failed.result()  # raises what the client raised
                raise SystemExit("a subscriber's connection closed before it subscribed")
            if time.perf_counter() > deadline:
                raise SystemExit(f"subscribers not ready after {limit:g} s")
            await asyncio.sleep(0.05)
    return clients


def _cpu_now(servers: dict[str, Server]) -> dict[str, float]:
    pids = {**{n: s.process.pid for n, s in servers.items()}, "bench": os.getpid(), **service_pids()}
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


async def _warm_up(urls: list[str], token: str, updates: list[Update]) -> Writes:
    """Sends the updates, and again those refused (a 503 while the subscribers were still
    connecting commits nothing), until each committed once."""
    warm = Writes()
    for _ in range(WARMUP_ATTEMPTS):
        await write(urls, token, updates, warm)
        updates = [update for update in updates if update.number not in warm.succeeded]
        if not updates:
            return warm
        await asyncio.sleep(1.0)
    raise SystemExit(f"warm-up: {len(updates)} updates refused {WARMUP_ATTEMPTS} times: {warm.failures[-3:]}")


def _server_cpu(before: dict[str, float], after: dict[str, float], servers: dict[str, Server]) -> float:
    return sum(after[name] - before[name] for name in servers)


async def _writes_alone(
    setup: Setup, servers: dict[str, Server], urls: list[str], options: Options
) -> tuple[float, int]:
    """The servers' CPU seconds over ``alone_seconds`` of updates with nobody subscribed, and how many
    committed; the relay's publishing of the last of them is given a second to finish."""
    count = int(options.rate * options.alone_seconds)
    print(f"writes alone: {count} updates at {options.rate:g}/s, no subscriber...", flush=True)
    alone = Writes()
    before = _cpu_now(servers)
    await write(
        urls, setup.writer_token, _updates(setup.plans, first=0, count=count, rate=options.rate), alone
    )
    await asyncio.sleep(1.0)
    return _server_cpu(before, _cpu_now(servers), servers), len(alone.succeeded)


async def _measure(setup: Setup, servers: dict[str, Server], options: Options) -> dict[str, Any]:
    plans = setup.plans
    urls = [f"{s.base_url}/graphql" for s in servers.values()]
    alone_cpu, alone_writes = await _writes_alone(setup, servers, urls, options)
    cpu_per_write = alone_cpu / max(alone_writes, 1)
    first = int(options.rate * options.alone_seconds)
    subscribers = [
        Subscriber(0, "", setup.tokens[user_id], encode_id("Project", plan.project_id))
        for plan in plans
        for user_id in plan.subscriber_user_ids
    ]
    subscribers = [
        Subscriber(n, urls[n % len(urls)].replace("http://", "ws://"), s.token, s.project_global_id)
        for n, s in enumerate(subscribers)
    ]
    subscribers_of = {p.project_id: len(p.subscriber_user_ids) for p in plans}
    tally = Tally()
    with stage(f"connecting {len(subscribers)} subscribers to {len(servers)} processes"):
        clients = await _connect_all(subscribers, tally, options.warmup_timeout)
    try:
        with stage("warming up: one update per project, until every subscriber has it"):
            warm = await _warm_up(
                urls, setup.writer_token, _updates(plans, first=first, count=len(plans), rate=WARMUP_RATE)
            )
            await _until_delivered(tally, warm, subscribers_of, options.warmup_timeout)
        if lost := _deliveries(tally, warm, subscribers_of)[0]["lost"]:
            raise SystemExit(f"warm-up: {lost} deliveries missing")

        count = int(options.rate * options.seconds)
        print(f"timed: {count} updates at {options.rate:g}/s ({options.seconds:g} s)...", flush=True)
        timed = Writes()
        cpu_before, started = _cpu_now(servers), time.perf_counter()
        await write(
            urls,
            setup.writer_token,
            _updates(plans, first=first + len(plans), count=count, rate=options.rate),
            timed,
        )
        await _until_delivered(tally, timed, subscribers_of, options.drain)
        wall = time.perf_counter() - started
        cpu = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in _cpu_now(servers).items()}
    finally:
        for client in clients:
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    deliveries, latencies = _deliveries(tally, timed, subscribers_of)
    fan_out_cpu = sum(cpu[name] for name in servers) - cpu_per_write * len(timed.succeeded)
    return {
        "cpu_per_write_ms": round(cpu_per_write * 1000, 2),
        "cpu_per_delivery_ms": round(fan_out_cpu / max(deliveries["received"], 1) * 1000, 3),
        "options": asdict(options),
        "subscribers": len(subscribers),
        "processes": len(servers),
        "deliveries": deliveries,
        "delivery_latency_ms": _percentiles(latencies),
        "writes": {"sent": count, "failed": len(timed.failures), "failures": timed.failures[:10]},
        "write_latency_ms": _percentiles(timed.latencies_ms),
        "resyncs": tally.resyncs,
        "sequence_holes": tally.sequence_holes(),
        "out_of_order": tally.out_of_order,
        "subscription_errors": len(tally.errors),
        "subscription_error_samples": tally.errors[:5],
        "closed_by_server": tally.closed,
        "cpu_share": {name: round(seconds / wall, 2) for name, seconds in cpu.items()},
        "wall_seconds": round(wall, 1),
    }


async def _run(options: Options) -> dict[str, Any]:
    env = config.BenchEnvironment.create()
    setup = await _setup(env, options)
    specs = [ServerSpec(f"graphql-{i + 1}", "schema.app:create_app", port) for i, port in enumerate(PORTS)]
    with running(specs, env, workers=1, cpus=None, logs=RESULTS / "logs") as servers:
        return await _measure(setup, servers, options)


def _report(result: dict[str, Any]) -> str:
    d, lat, w = result["deliveries"], result["delivery_latency_ms"], result["write_latency_ms"]
    targets = "/".join(f"{t:g}" for t in WRITE_TARGETS_MS)
    lines = [
        f"subscribers: {result['subscribers']} over {result['processes']} processes; "
        f"updates: {result['writes']['sent']} ({result['writes']['failed']} failed)",
        f"deliveries: expected {d['expected']}, received {d['received']}, lost {d['lost']}, "
        f"duplicated {d['duplicates']}, {d['per_second']:g}/s; resyncs {result['resyncs']}, "
        f"sequence holes {result['sequence_holes']}, out of order {result['out_of_order']}, "
        f"subscription errors {result['subscription_errors']}",
        "",
        "| latency (ms)       |    p50 |    p95 |    p99 |    max | target |",
        "| ---                |    --- |    --- |    --- |    --- | --- |",
        f"| delivery           | {lat['p50']:6} | {lat['p95']:6} | {lat['p99']:6} | {lat['max']:6} | "
        f"p99 < {DELIVERY_P99_BAR_MS:g} |",
        f"| write (taskUpdate) | {w['p50']:6} | {w['p95']:6} | {w['p99']:6} | {w['max']:6} | {targets} |",
        "",
        f"CPU share over {result['wall_seconds']} s (1.0 = one core): {result['cpu_share']}",
        f"server CPU per write (mutation, relay, derivation; none subscribed): "
        f"{result['cpu_per_write_ms']} ms; "
        f"per delivery (the rest of the timed phase's): {result['cpu_per_delivery_ms']} ms",
        f"delivered={d['received']}/{d['expected']} lost={d['lost']} rate={d['per_second']:g}/s "
        f"delivery_p99_ms={lat['p99']} write_p50_ms={w['p50']} write_p95_ms={w['p95']} "
        f"write_p99_ms={w['p99']} cpu_per_write_ms={result['cpu_per_write_ms']} "
        f"cpu_per_delivery_ms={result['cpu_per_delivery_ms']}",
    ]
    return "\n".join(lines)


def main() -> None:
    options = _parse_options()
    result = asyncio.run(_run(options))
    print(_report(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"subscriptions-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"written to {path.relative_to(REPO)}")
