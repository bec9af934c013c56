"""`make load SCENARIO=baseline [DURATION=3m] [USERS=250] [POPULATION=owners]`: one of the seed's load
scenarios against the real server.

1. The load's database (`taskql_load`: perf/load/population.py, four organizations of 250 users and an
   owner-heavy one of 100; not `make bench`'s data set) made, migrated and seeded once; the load's
   operations registered as trusted documents; each virtual user's plan.
2. The production app (2 uvicorn workers, trusted documents `enforce`) on 127.0.0.1:18471 and a job
   worker (`python -m jobs.worker --no-cron`), Redis index 10 flushed.
3. Locust, headless, on perf/load/locustfile.py with the scenario's shape; `/metrics` read before and after;
   every process tree's RSS every 5 s.
4. perf/results/<scenario>-<UTC time>/: report.md, latency.png, throughput.png, rss.png, the samples,
   Locust's CSV and every process's log. Everything started is stopped on the way out, whatever happens.
   The last line printed is the run in one line (LoadReport.closing_line).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from perf.load.cpu import CpuLedger
from perf.load.markdown import render
from perf.load.metrics import Metrics, delta, scrape
from perf.load.plots import write_plots
from perf.load.population import Population
from perf.load.prepare import prepare
from perf.load.report import LoadInputs, build_report
from perf.load.samples import read_samples
from perf.load.scenarios import SCENARIOS, Scenario
from perf.load.usage import UsageSampler, queue_depths_reader
from perf.shared import config
from perf.shared.config import BenchEnvironment
from perf.shared.machine_speed import measure
from perf.shared.progress import stage
from perf.shared.results import RESULTS
from perf.shared.servers import REPO, ServerSpec, running

DATABASE = os.environ.get("LOAD_DATABASE", "taskql_load")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/10")
PORT = 18471
# Beyond the scenario's duration: Locust's start and its users' last requests (then it is killed).
LOCUST_GRACE_SECONDS = 60
# How often the timed load says how far it is.
HEARTBEAT_SECONDS = 60
# The load's access tokens live 2 minutes (production: 15). At 15 minutes and the seed's 5 % of logins
# (each a fresh token) a virtual user would almost never reach a refresh; at 2 minutes about one sign-in
# in ten is followed by a refresh, so the refresh row is measured and the client's renewal runs
# thousands of times per run.
ACCESS_TOKEN_TTL_SECONDS = 120
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")


def parse_duration(text: str) -> float:
    """ "45s", "3m", "1h" or plain seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (say 45s, 3m or 1h)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def load_environment(engine: str) -> BenchEnvironment:
    return BenchEnvironment(
        {
            # The compiled engine is production's; the resolvers are measured for the caches they
            # read (the compiled engine reads users, projects and permissions in its one statement).
            "TASKQL_EXECUTION_ENGINE": engine,
            # Production: no GraphiQL, no suggestions, masked errors, trusted documents enforced.
            "TASKQL_ENVIRONMENT": "production",
            "TASKQL_TRUSTED_DOCUMENTS": "enforce",
            "TASKQL_JWT_SECRET": secrets.token_urlsafe(48),
            "TASKQL_DATABASE_URL": f"{config.MARIADB_SERVER_URL}/{DATABASE}",
            "TASKQL_REDIS_URL": REDIS_URL,
            # Channels ignore Redis database numbers: a prefix of its own keeps other servers' events out.
            "TASKQL_REDIS_CHANNEL_PREFIX": "taskql-load",
            "TASKQL_SEED_DEMO_DATA": "false",
            "TASKQL_MIGRATE_ON_START": "false",
            # The one departure from production: each answer says how many statements it sent (one
            # more key in the body; the count is kept anyway), so the report has them per class.
            "TASKQL_EXPOSE_STATEMENT_COUNT": "true",
            # Every virtual user signs in from 127.0.0.1; real users come from many addresses, each
            # with a bucket of its own. Users keep the production buckets.
            "TASKQL_ANONYMOUS_COST_BUCKET_CAPACITY": "100000000",
            "TASKQL_ANONYMOUS_COST_RESTORE_RATE": "100000000",
            # No mail server here: the worker writes each notification email to its log.
            "TASKQL_EMAIL_TRANSPORT": "log",
            "TASKQL_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
        }
    )


def _start_worker(environment: BenchEnvironment, logs: Path) -> subprocess.Popen[bytes]:
    with (logs / "jobs-worker.log").open("wb") as sink:
        # Without the periodic jobs: a due-soon scan over the seeded tasks is not part of a scenario.
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--no-cron", "--log-level", "WARNING"],
            cwd=REPO, env=environment.process_environment(), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Only the process this module started, by its pid: SIGTERM, then SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _run_locust(scenario: Scenario, seconds: float, base_url: str, directory: Path) -> None:
    command = [
        sys.executable, "-m", "locust", "-f", str(REPO / "perf" / "load" / "locustfile.py"), "--headless",
        "--host", base_url, "--csv", str(directory / "locust"), "--only-summary",
        "--exit-code-on-error", "0", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")},
        "PYTHONPATH": str(REPO),
        "LOAD_PLAN": str(directory / "plan.json"),
        "LOAD_SAMPLES": str(directory / "samples.csv"),
        "LOAD_SCENARIO": scenario.name,
        "LOAD_USERS": str(scenario.peak_users),
        "LOAD_SECONDS": str(seconds),
    }
    with (directory / "logs" / "locust.log").open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=REPO, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            _wait_telling_time(process, seconds)
        finally:
            _stop(process)


def _wait_telling_time(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Waits for Locust, saying every minute how far the run is: a run lasts up to 30 minutes."""
    started = time.monotonic()
    deadline = started + seconds + LOCUST_GRACE_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            process.wait(timeout=min(remaining, HEARTBEAT_SECONDS))
            return
        except subprocess.TimeoutExpired:
            print(f"  {time.monotonic() - started:.0f} s of {seconds:.0f} s", flush=True)
    print("locust overran its time: stopped", flush=True)


def run(scenario: Scenario, seconds: float, workers: int, population: Population, engine: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = RESULTS / f"{scenario.name}-{stamp}"
    (directory / "logs").mkdir(parents=True)
    environment = load_environment(engine)
    with stage(f"preparing {DATABASE} (seeded once), Redis {REDIS_URL}"):
        plan = asyncio.run(prepare(environment.settings(), DATABASE, population))
    plan.write(directory / "plan.json")
    with stage("measuring this machine's speed"):
        speed = measure(environment.settings())
    print(speed.describe(), flush=True)
    spec = ServerSpec("graphql", "schema.app:create_app", PORT)
    metrics_start: Metrics | None = None
    metrics_end: Metrics | None = None
    usage: UsageSampler | None = None
    with running([spec], environment, workers=workers, cpus=None, logs=directory / "logs") as servers:
        server = servers["graphql"]
        worker = _start_worker(environment, directory / "logs")
        try:
            metrics_start = scrape(server.base_url)
            ledger = CpuLedger(server.process.pid, worker.pid)
            trees = {"server": server.process.pid, "jobs-worker": worker.pid}
            usage = UsageSampler(trees, ledger.read, queue_depths_reader(REDIS_URL))
            usage.start()
            started = time.time()
            with stage(f"{scenario.name}: {seconds:.0f} s, up to {scenario.peak_users} users"):
                _run_locust(scenario, seconds, server.base_url, directory)
            cpu = ledger.finish()
            metrics_end = scrape(server.base_url)
            crashed = server.process.poll() is not None
        finally:
            if usage is not None:
                usage.stop()
            _stop(worker)
    if not (directory / "samples.csv").exists():
        raise RuntimeError(f"Locust wrote no samples: see {directory / 'logs' / 'locust.log'}")
    metrics = delta(metrics_start, metrics_end) if metrics_start and metrics_end else None
    with stage("reading the samples and building the report"):
        samples = list(read_samples(directory / "samples.csv"))
        rss, cpu_usage, queue_depths = (usage.rss, usage.cpu, usage.queues) if usage else ([], [], [])
        inputs = LoadInputs(scenario, seconds, started, samples, rss, metrics, cpu_usage, queue_depths)
        report = build_report(inputs)
    notes = [
        f"- server: `uvicorn schema.app:create_app`, {workers} workers, the {engine} engine, production "
        "settings, trusted "
        f"documents enforced, 127.0.0.1:{PORT}; {'it EXITED during the run' if crashed else 'up to the end'}",
        "- job worker: `python -m jobs.worker --no-cron`; Locust (FastHttpUser) on the same machine",
        f"- data: database `{DATABASE}`, population `{population}` ({len(plan.users):,} users signing in "
        f"in turn), Redis `{REDIS_URL}`; access tokens live {ACCESS_TOKEN_TTL_SECONDS} s, renewed "
        "30 s before expiry",
        f"- machine load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs",
        f"- {speed.describe()}",
        f"- {cpu.describe(len(inputs.samples))}",
    ]
    (directory / "report.md").write_text(render(report, notes))
    (directory / "closing.txt").write_text(report.closing_line() + "\n")
    write_plots(report, directory)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m perf.load", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="baseline")
    parser.add_argument("--duration", type=parse_duration, help="e.g. 45s, 3m (default: the scenario's)")
    parser.add_argument("--users", type=int, help="users at the scenario's peak (default: its size)")
    parser.add_argument(
        "--population",
        choices=[p.value for p in Population],
        default=Population.REALISTIC.value,
        help="whose users sign in: the several organizations' staff, or the owner-heavy organization",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--engine",
        choices=["compiled", "resolvers"],
        default="compiled",
        help="the execution engine (resolvers: to measure the caches the compiled engine does not read)",
    )
    arguments = parser.parse_args()
    scenario = SCENARIOS[arguments.scenario]
    if arguments.users is not None:
        scenario = scenario.sized(arguments.users)
    seconds = arguments.duration or scenario.default_seconds
    directory = run(scenario, seconds, arguments.workers, Population(arguments.population), arguments.engine)
    print(f"report: {directory / 'report.md'}", flush=True)
    print((directory / "report.md").read_text(), flush=True)
    print((directory / "closing.txt").read_text(), end="", flush=True)
