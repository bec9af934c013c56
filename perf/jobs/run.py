"""Background job throughput end to end (``make bench-jobs``): enqueue -> 2 workers -> local sinks.

1. Database ``taskql_bench_jobs`` (made if missing, migrated, one small organization seeded once) and
   Redis index 8 (flushed at start): the bench's own, never the suite's or the app's.
2. Each job type in ``JOB_TYPES`` prepares its jobs' data, inserted directly as the relay would have
   made it (emails and pushes: one notification per job, with its own event; every user has one push
   device; webhooks: one delivery per job, with its own event, to one endpoint of the organization)
   and names each job's delivery id (the Message-ID, the push's ``delivery_id``, ``whd_<id>``) before
   anything runs.
3. Starts the local sinks on 127.0.0.1 (SMTP: aiosmtpd; push gateway and webhook receiver: one
   uvicorn app) and 2 worker processes (``python -m
   jobs.worker``), then enqueues the jobs through the production enqueuers, interleaved by type, at
   ``--rate`` per second (0: all at once), noting each job's enqueue time.
4. Waits until every delivery id has arrived or ``--seconds`` have passed since the first enqueue, then
   stops the workers (SIGTERM) and reports: jobs/min (deliveries over the time from the first enqueue to
   the last receipt), per type p50/p95/p99 from enqueue to first receipt beside the seed's targets,
   lost and duplicated deliveries, and each process's CPU; also written to ``perf/results/`` as Markdown.

A new job type is one ``JobType`` entry: its seed targets, a ``prepare`` that makes ``count`` jobs'
data and returns their references and delivery ids, and an ``enqueuer`` that enqueues one reference
through the project's own enqueuing code. A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from jobs.enqueue import NotificationEmails, NotificationPushes, WebhookDeliveries
from jobs.push import delivery_id as push_delivery_id
from jobs.templates import message_id
from jobs.webhooks import delivery_key
from perf.jobs.sinks import HOST, Receipts, http_sink, smtp_sink
from perf.shared import config
from perf.shared.cpu import cpu_seconds, service_pids
from perf.shared.results import RESULTS
from perf.shared.servers import REPO
from persistence.enums import NotificationKind, PushPlatform
from persistence.migrate import upgrade_to_head
from persistence.models import (
    Event,
    Notification,
    Organization,
    ProjectMember,
    PushDevice,
    Task,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from persistence.models.base import utcnow
from persistence.seed import SeedSizes, seed_organization
from persistence.settings import Settings
from resolvers.context import Services
from schema.app import build_services

DATABASE_NAME = "taskql_bench_jobs"
REDIS_URL = "redis://127.0.0.1:6379/8"
SMTP_PORT = 18431
HTTP_PORT = 18432
SIZES = SeedSizes(users=60, projects=6, tasks=300, comments_per_task=0.0, members_per_project=10)
ORG_SLUG = "bench-jobs"  # its presence is the marker that the data set is already seeded
SENDER = "taskql <no-reply@bench.taskql.test>"
WORKERS = 2
BAR_JOBS_PER_MINUTE = 5000


@dataclass(frozen=True)
class Targets:
    """The seed's "Background Job Performance" row for the type, in seconds."""

    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class Planned:
    reference: int  # what the job is enqueued with (a notification id, ...)
    delivery_id: str  # what the sink will see (a Message-ID, ...)


@dataclass(frozen=True)
class Context:
    services: Services
    organization_id: int
    settings: Settings


@dataclass(frozen=True)
class JobType:
    name: str
    targets: Targets
    prepare: Callable[[Context, int], Awaitable[list[Planned]]]
    enqueuer: Callable[[Settings, redis.Redis], Callable[[int], object]]


async def _events(context: Context, count: int) -> list[tuple[int, int, int, int]]:
    """``count`` ``task.assigned`` events, each about a task and a member of its project (so the jobs'
    read-permission checks pass, as for a real assignee): (event id, task, member, actor) each."""
    async with context.services.db.read() as conn:
        members = (
            await conn.execute(
                select(Task.id, Task.project_id, ProjectMember.user_id)
                .join(ProjectMember, ProjectMember.project_id == Task.project_id)
                .where(Task.organization_id == context.organization_id, Task.deleted_at.is_(None))
                .order_by(Task.id, ProjectMember.user_id)
            )
        ).all()
        owner = await conn.scalar(
            select(User.id).where(User.organization_id == context.organization_id).order_by(User.id)
        )
        highest = await conn.scalar(select(Event.sequence).order_by(Event.sequence.desc()).limit(1))
    first_sequence = (highest or 0) + 1
    picks = [members[(i * 7919) % len(members)] for i in range(count)]
    now = utcnow()
    events = [
        {
            "organization_id": context.organization_id,
            "project_id": project_id,
            "task_id": task_id,
            "actor_id": owner,
            "type": "task.assigned",
            "sequence": first_sequence + i,
            "payload": {"changes": {"assignee_id": user_id}},
            "created_at": now,
            "published_at": now,
        }
        for i, (task_id, project_id, user_id) in enumerate(picks)
    ]
    async with context.services.db.unit_of_work() as conn:
        await conn.execute(insert(Event), events)
        made_events = select(Event.id).where(Event.sequence >= first_sequence).order_by(Event.sequence)
        event_ids = list((await conn.scalars(made_events)).all())
    return [
        (int(event_ids[i]), int(task_id), int(user_id), int(owner or 0))
        for i, (task_id, _project, user_id) in enumerate(picks)
    ]


async def _notifications(context: Context, count: int) -> list[tuple[int, int, int]]:
    """``count`` assignment notifications, each with its own event: (notification, event, user) each."""
    made_events = await _events(context, count)
    now = utcnow()
    rows = [
        {
            "organization_id": context.organization_id,
            "user_id": user_id,
            "kind": NotificationKind.ASSIGNED,
            "event_id": event_id,
            "task_id": task_id,
            "actor_id": actor_id,
            "created_at": now,
        }
        for event_id, task_id, user_id, actor_id in made_events
    ]
    async with context.services.db.unit_of_work() as conn:
        await conn.execute(insert(Notification), rows)
        made = (
            await conn.execute(
                select(Notification.id, Notification.event_id, Notification.user_id).where(
                    Notification.event_id.in_([event_id for event_id, *_ in made_events])
                )
            )
        ).all()
    return [(int(n_id), int(event_id), int(user_id)) for n_id, event_id, user_id in made]


async def _prepare_emails(context: Context, count: int) -> list[Planned]:
    made = await _notifications(context, count)
    return [Planned(n_id, message_id(event_id, user_id, SENDER)) for n_id, event_id, user_id in made]


async def _prepare_pushes(context: Context, count: int) -> list[Planned]:
    """Notifications as for emails, to users with one push device each (registered here if missing)."""
    async with context.services.db.unit_of_work() as conn:
        users = list(
            (await conn.scalars(select(User.id).where(User.organization_id == context.organization_id))).all()
        )
        have = set(
            (await conn.scalars(select(PushDevice.user_id).where(PushDevice.user_id.in_(users)))).all()
        )
        missing = [
            {
                "user_id": user_id,
                "organization_id": context.organization_id,
                "token": f"bench-device-{user_id}-{secrets.token_hex(8)}",
                "platform": PushPlatform.IOS,
            }
            for user_id in users
            if user_id not in have
        ]
        if missing:
            await conn.execute(insert(PushDevice), missing)
        devices = dict(
            (
                await conn.execute(
                    select(PushDevice.user_id, PushDevice.id).where(PushDevice.user_id.in_(users))
                )
            ).all()
        )
    made = await _notifications(context, count)
    return [Planned(n_id, push_delivery_id(n_id, devices[user_id])) for n_id, _event, user_id in made]


async def _prepare_webhooks(context: Context, count: int) -> list[Planned]:
    """One endpoint of the organization on the HTTP sink (made once), one delivery per job."""
    url = f"http://{HOST}:{HTTP_PORT}/webhook"
    async with context.services.db.unit_of_work() as conn:
        endpoint = await conn.scalar(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.organization_id == context.organization_id, WebhookEndpoint.url == url
            )
        )
        if endpoint is None:
            values = {
                "organization_id": context.organization_id,
                "url": url,
                "secret": secrets.token_hex(32),
                "event_types": ["task.assigned"],
                "description": "the job bench's receiver",
            }
            key = (await conn.execute(insert(WebhookEndpoint).values(values))).inserted_primary_key
            assert key is not None
            endpoint = key[0]
    made_events = await _events(context, count)
    now = utcnow()
    rows = [
        {"endpoint_id": endpoint, "event_id": event_id, "event_type": "task.assigned", "created_at": now,
         "updated_at": now}
        for event_id, *_ in made_events
    ]  # fmt: skip
    async with context.services.db.unit_of_work() as conn:
        await conn.execute(insert(WebhookDelivery), rows)
        ids = (
            await conn.scalars(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.endpoint_id == endpoint,
                    WebhookDelivery.event_id.in_([event_id for event_id, *_ in made_events]),
                )
            )
        ).all()
    return [Planned(int(delivery), delivery_key(int(delivery))) for delivery in ids]


def _email_enqueuer(settings: Settings, connection: redis.Redis) -> Callable[[int], object]:
    emails = NotificationEmails(settings, connection=connection)
    return lambda notification_id: emails.enqueue_all([notification_id])


def _push_enqueuer(settings: Settings, connection: redis.Redis) -> Callable[[int], object]:
    pushes = NotificationPushes(settings, connection=connection)
    return lambda notification_id: pushes.enqueue_all([notification_id])


def _webhook_enqueuer(settings: Settings, connection: redis.Redis) -> Callable[[int], object]:
    webhooks = WebhookDeliveries(settings, connection=connection)
    return lambda delivery: webhooks.enqueue_deliveries([delivery])


JOB_TYPES = {
    "email": JobType("email", Targets(1.0, 3.0, 10.0), _prepare_emails, _email_enqueuer),
    "push": JobType("push", Targets(0.5, 2.0, 5.0), _prepare_pushes, _push_enqueuer),
    "webhook": JobType("webhook", Targets(2.0, 5.0, 15.0), _prepare_webhooks, _webhook_enqueuer),
}


@dataclass(frozen=True)
class Options:
    jobs: int
    rate: float
    seconds: float
    types: list[str]
    profile: bool


def _parse_options() -> Options:
    parser = argparse.ArgumentParser(prog="python -m perf.jobs", description=__doc__)
    parser.add_argument("--jobs", type=int, default=6000, help="jobs in all, split evenly over the types")
    parser.add_argument("--rate", type=float, default=0.0, help="jobs enqueued per second; 0: all at once")
    parser.add_argument("--seconds", type=float, default=180.0, help="cap from the first enqueue")
    parser.add_argument("--types", default=",".join(JOB_TYPES), help=f"of {', '.join(JOB_TYPES)}")
    parser.add_argument(
        "--profile", action="store_true", help="run worker 1 under cProfile (perf/results/jobs-worker-1.prof)"
    )
    arguments = parser.parse_args()
    types = [name.strip() for name in arguments.types.split(",") if name.strip()]
    unknown = [name for name in types if name not in JOB_TYPES]
    if unknown or not types:
        parser.error(f"unknown job types {unknown}; known: {', '.join(JOB_TYPES)}")
    if not 1 <= arguments.jobs <= 50_000 or not 1 <= arguments.seconds <= 900:
        parser.error("--jobs must be 1..50000 and --seconds 1..900 (a bounded load)")
    return Options(arguments.jobs, arguments.rate, arguments.seconds, types, arguments.profile)


def _environment() -> dict[str, str]:
    return {
        "TASKQL_ENVIRONMENT": "production",
        "TASKQL_JWT_SECRET": secrets.token_urlsafe(48),
        "TASKQL_DATABASE_URL": f"{config.MARIADB_SERVER_URL}/{DATABASE_NAME}",
        "TASKQL_REDIS_URL": REDIS_URL,
        "TASKQL_SEED_DEMO_DATA": "false",
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_SMTP_HOST": HOST,
        "TASKQL_SMTP_PORT": str(SMTP_PORT),
        "TASKQL_SMTP_FROM": SENDER,
        "TASKQL_PUSH_GATEWAY_URL": f"http://{HOST}:{HTTP_PORT}/push",
        # The bench's receiver is on loopback, which the webhook address check refuses otherwise.
        "TASKQL_WEBHOOK_ALLOWED_HOSTS": HOST,
    }


async def _ensure_seeded(services: Services) -> int:
    server = create_async_engine(config.MARIADB_SERVER_URL)
    try:
        async with server.begin() as conn:
            await conn.execute(
                text(
                    f"CREATE DATABASE IF NOT EXISTS `{DATABASE_NAME}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
    finally:
        await server.dispose()
    await upgrade_to_head(services.db.engine)
    async with services.db.read() as conn:
        existing = await conn.scalar(select(Organization.id).where(Organization.slug == ORG_SLUG))
    if existing is not None:
        return int(existing)
    seeded = await seed_organization(
        services.db, services.passwords, SIZES, slug=ORG_SLUG,
        owner_email="owner@bench-jobs.taskql.test", password=config.PASSWORD,
    )  # fmt: skip
    return seeded.organization_id


async def _prepare(settings: Settings, options: Options) -> dict[str, list[Planned]]:
    services = build_services(settings)
    try:
        organization_id = await _ensure_seeded(services)
        context = Context(services, organization_id, settings)
        share, extra = divmod(options.jobs, len(options.types))
        return {
            name: await JOB_TYPES[name].prepare(context, share + (1 if i < extra else 0))
            for i, name in enumerate(options.types)
        }
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()


def _start_workers(environment: dict[str, str], logs: Path, profile: bool) -> list[subprocess.Popen[bytes]]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    workers = []
    for number in range(1, WORKERS + 1):
        # cProfile writes its file when the worker exits (the SIGTERM at the end is a clean exit).
        profiler = (
            ["-m", "cProfile", "-o", str(RESULTS / "jobs-worker-1.prof")] if profile and number == 1 else []
        )
        with (logs / f"jobs-worker-{number}.log").open("wb") as out:
            workers.append(
                subprocess.Popen(  # noqa: S603 - fixed arguments
                    # Without the periodic jobs: a due-soon scan would email the seeded assignees.
                    [sys.executable, *profiler, "-m", "jobs.worker", "--no-cron", "--log-level", "WARNING"],
                    cwd=REPO, env={**inherited, **environment}, stdout=out, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
    return workers


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[int | None]:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    codes: list[int | None] = []
    for worker in workers:
        try:
            codes.append(worker.wait(timeout=30))
        except subprocess.TimeoutExpired:
            worker.kill()
            codes.append(worker.wait(timeout=5))
    return codes


def _interleaved(planned: dict[str, list[Planned]]) -> list[tuple[str, Planned]]:
    """Round robin over the types, so each is spread over the whole run."""
    lanes = [[(name, job) for job in jobs] for name, jobs in planned.items()]
    return [pair for group in itertools.zip_longest(*lanes) for pair in group if pair is not None]


def _enqueue_all(
    order: list[tuple[str, Planned]], enqueuers: dict[str, Callable[[int], object]], rate: float
) -> dict[str, float]:
    """Enqueues on schedule (open loop); each delivery id's enqueue time (``time.time()``)."""
    enqueued: dict[str, float] = {}
    start = time.perf_counter()
    for number, (name, job) in enumerate(order):
        if rate > 0:
            due = start + number / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        enqueued[job.delivery_id] = time.time()
        enqueuers[name](job.reference)
    return enqueued


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _report(
    options: Options,
    planned: dict[str, list[Planned]],
    enqueued: dict[str, float],
    receipts: Receipts,
    cpu: dict[str, float],
    worker_codes: list[int | None],
    wall: float,
) -> str:
    first_enqueue = min(enqueued.values())
    delivered = [receipts.first[d] for d in enqueued if d in receipts.first]
    span = (max(delivered) - first_enqueue) if delivered else float("nan")
    per_minute = len(delivered) / span * 60 if delivered and span > 0 else 0.0
    enqueue_span = max(enqueued.values()) - first_enqueue
    lines = [
        f"# Job throughput, {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        f"{len(enqueued)} jobs ({', '.join(f'{n} {len(p)}' for n, p in planned.items())}), "
        f"{WORKERS} workers (`python -m jobs.worker`, non-forking), rate "
        f"{'all at once' if options.rate <= 0 else f'{options.rate:g}/s'}, enqueued in {enqueue_span:.1f} s, "
        f"cap {options.seconds:g} s, wall {wall:.1f} s.",
        "",
        f"**{per_minute:,.0f} jobs/min** ({len(delivered)} delivered in {span:.1f} s from the first "
        f"enqueue to the last receipt; bar >= {BAR_JOBS_PER_MINUTE:,}/min: "
        f"{'met' if per_minute >= BAR_JOBS_PER_MINUTE else 'NOT met'}; the seed's Phase 1 1,000/min, "
        "Phase 3 10,000/min)",
        "",
        "| type | jobs | delivered | not delivered | duplicated | p50 s | p95 s | p99 s | max s "
        "| seed p50/p95/p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, jobs in planned.items():
        latencies = sorted(
            receipts.first[j.delivery_id] - enqueued[j.delivery_id]
            for j in jobs
            if j.delivery_id in receipts.first
        )
        duplicates = sum(max(0, receipts.count[j.delivery_id] - 1) for j in jobs)
        t = JOB_TYPES[name].targets
        figures = " | ".join(f"{_percentile(latencies, f):.2f}" for f in (0.50, 0.95, 0.99, 1.0))
        lines.append(
            f"| {name} | {len(jobs)} | {len(latencies)} | {len(jobs) - len(latencies)} | {duplicates} | "
            f"{figures} | {t.p50:g} s / {t.p95:g} s / {t.p99:g} s |"
        )
    lines += [
        "",
        "Latency is from the enqueue to the sink's first receipt; with everything enqueued at once it is "
        "mostly time waiting in the queue. Not delivered: not received by the cap (a job still queued "
        "counts, so this is an upper bound on loss).",
        "",
        "CPU seconds during the run: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()),
        f"Workers' exit codes (SIGTERM): {worker_codes}",
    ]
    return "\n".join(lines) + "\n"


def run(options: Options) -> str:
    environment = _environment()
    settings = Settings(**{k.removeprefix("TASKQL_").lower(): v for k, v in environment.items()})  # type: ignore[arg-type]
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    planned = asyncio.run(_prepare(settings, options))
    enqueuers = {name: JOB_TYPES[name].enqueuer(settings, connection) for name in planned}
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    receipts = Receipts()
    started = time.monotonic()
    with smtp_sink(receipts, SMTP_PORT), http_sink(receipts, HTTP_PORT):
        workers = _start_workers(environment, logs, options.profile)
        try:
            # Both workers registered with Redis: listening before the clock starts.
            while int(connection.scard("rq:workers")) < WORKERS:
                if any(w.poll() is not None for w in workers) or time.monotonic() - started > 30:
                    raise SystemExit(f"the workers did not start; see {logs}")
                time.sleep(0.1)
            pids = {f"worker{i}": w.pid for i, w in enumerate(workers, 1)} | {"bench": os.getpid()}
            pids |= service_pids()
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            order = _interleaved(planned)
            enqueued = _enqueue_all(order, enqueuers, options.rate)
            deadline = min(enqueued.values()) + options.seconds
            while not receipts.has_all(enqueued) and time.time() < deadline:
                time.sleep(0.05)
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        finally:
            codes = _stop_workers(workers)
    report = _report(options, planned, enqueued, receipts, cpu, codes, time.monotonic() - started)
    connection.close()
    return report


def main() -> None:
    options = _parse_options()
    report = run(options)
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"jobs-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.md"
    path.write_text(report)
    print(f"written to {path}")
