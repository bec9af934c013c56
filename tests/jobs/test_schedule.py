"""The cron scheduler: ``python -m jobs.cron`` in real processes enqueues the periodic jobs and a real
worker runs them; a second scheduler enqueues nothing twice; periods are fixed in UTC; the embedded
runner enqueues them itself."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import fakeredis
import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler
from rq.job import Job
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from jobs.due_soon import scan_due_soon
from jobs.embedded import EmbeddedJobs
from jobs.queues import DEFAULT, queue
from jobs.schedule import PeriodicJob, build_schedule, periodic_jobs
from perf.shared.private_redis import PrivateRedis
from persistence.migrate import upgrade_to_head
from persistence.redis import embedded_server
from schema.app import build_services
from tests.conftest import make_settings
from tests.jobs.people import office
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.jobs.worker_process import ROOT

ENQUEUED = re.compile(r"enqueued (cron-due-soon-scan-\d+)")
REFUSED = re.compile(r"(cron-due-soon-scan-\d+) exists already")


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is New York (RQ's own cron jobs would read expressions in it)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_periods_are_fixed_in_utc_whatever_the_local_zone() -> None:
    weekly = PeriodicJob("weekly", scan_due_soon, DEFAULT, timeout=60, cron="0 8 * * 1")
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert weekly.slot(monday) == monday
    assert weekly.slot(monday + timedelta(hours=5)) == monday
    assert weekly.slot(monday - timedelta(seconds=1)) == monday - timedelta(days=7)
    assert weekly.period_seconds(monday) == 7 * 24 * 3600
    assert weekly.job_id(monday) == f"cron-weekly-{int(monday.timestamp())}"
    weekly.set_enqueue_time(monday + timedelta(seconds=1))
    assert weekly.next_enqueue_time == monday + timedelta(days=7)
    # An interval's periods are multiples of it since the epoch, the same on every host
    every = PeriodicJob("every", scan_due_soon, DEFAULT, timeout=60, interval=900)
    assert every.slot(datetime(2026, 11, 29, 20, 14, 59, tzinfo=UTC)) == datetime(
        2026, 11, 29, 20, 0, tzinfo=UTC
    )
    assert every.slot(datetime(2026, 11, 29, 20, 15, tzinfo=UTC)) == datetime(
        2026, 11, 29, 20, 15, tzinfo=UTC
    )


def test_the_settings_schedule_every_periodic_job() -> None:
    settings = make_settings(
        due_soon_scan_interval_seconds=120, digest_cron="0 7 * * 1", cleanup_cron="0 2 * * *"
    )
    jobs = {job.name: job for job in periodic_jobs(settings)}
    assert {name: (job.queue_name, job.interval, job.cron) for name, job in jobs.items()} == {
        "due-soon-scan": ("default", 120, None),
        "weekly-digest": ("default", None, "0 7 * * 1"),
        "cleanup": ("low", None, "0 2 * * *"),
    }


def test_a_second_scheduler_does_not_enqueue_a_period_again(rq_redis: Redis) -> None:
    settings = make_settings(due_soon_scan_interval_seconds=3600)
    first, second = build_schedule(settings, rq_redis), build_schedule(settings, rq_redis)
    [scan] = [job for job in first.get_jobs() if job.name == "due-soon-scan"]
    assert isinstance(scan, PeriodicJob)
    job_id = scan.job_id(scan.slot(datetime.now(UTC)))
    if Job.exists(job_id, connection=rq_redis):
        Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).delete()
    default = queue(DEFAULT, rq_redis)
    # When two schedulers (two worker hosts) find the scan due in the same hour
    assert [job.name for job in first.enqueue_jobs()] == ["due-soon-scan"]
    assert [job.name for job in second.enqueue_jobs()] == ["due-soon-scan"]
    # Then the hour's scan is queued once, and a restarted scheduler is refused too
    assert default.get_job_ids().count(job_id) == 1
    build_schedule(settings, rq_redis).enqueue_jobs()
    assert default.get_job_ids().count(job_id) == 1
    Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).delete()


@pytest.fixture
def two_schedulers(job_env: dict[str, str], tmp_path: Path) -> Iterator[list[Path]]:
    """Two ``python -m jobs.cron`` processes scanning every second; both must stop cleanly."""
    env = {**job_env, "TASKQL_DUE_SOON_SCAN_INTERVAL_SECONDS": "1"}
    logs = [tmp_path / f"cron{number}.log" for number in (1, 2)]
    processes = []
    for log in logs:
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "jobs.cron"],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        yield logs
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=15) for process in processes]
        assert codes == [0, 0], [log.read_text() for log in logs]


@pytest.mark.usefixtures("worker")
async def test_scheduler_processes_enqueue_each_period_once_and_the_worker_runs_it(
    two_schedulers: list[Path], rq_redis: Redis
) -> None:
    def seen() -> tuple[Counter[str], Counter[str]]:
        texts = [log.read_text() for log in two_schedulers]
        enqueued = Counter(job_id for text in texts for job_id in ENQUEUED.findall(text))
        refused = Counter(job_id for text in texts for job_id in REFUSED.findall(text))
        return enqueued, refused

    # When both schedulers have run for a few periods
    await until(lambda: len(seen()[0]) >= 3 and len(seen()[1]) >= 1, 20, "three periods and a refusal")
    enqueued, refused = seen()
    # Then each period's scan was enqueued by one of them only (the other was refused) ...
    assert set(enqueued.values()) == {1}
    assert set(refused) <= set(enqueued)
    # ... and the worker ran each one
    for job_id in list(enqueued)[:3]:
        await until(partial(finished, rq_redis, job_id), 15, job_id)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`make worker`'s command, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def worker_with_cron(job_env: dict[str, str], rq_redis: Redis, tmp_path: Path) -> Iterator[None]:
    """`make worker`'s command, scanning every second; stopping it must stop its scheduler too."""
    env = {**job_env, "TASKQL_DUE_SOON_SCAN_INTERVAL_SECONDS": "1"}
    log = tmp_path / "worker.log"
    process = _start_worker(env, log)
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 0, log.read_text()
    assert CronScheduler.all(rq_redis) == [], log.read_text()


@pytest.mark.usefixtures("worker_with_cron")
async def test_the_worker_runs_a_cron_scheduler_beside_itself(rq_redis: Redis) -> None:
    finished_scans = FinishedJobRegistry(DEFAULT, connection=rq_redis, serializer=JSONSerializer)

    def scans() -> set[str]:
        return {job_id for job_id in finished_scans.get_job_ids() if job_id.startswith("cron-due-soon-scan-")}

    before = scans()
    # Then one cron scheduler runs beside the worker, enqueues scans, and the worker runs them
    await until(lambda: len(CronScheduler.all(rq_redis)) == 1, 20, "the worker's cron scheduler")
    await until(lambda: len(scans() - before) >= 2, 20, "two scans")


async def test_a_worker_killed_outright_takes_its_cron_scheduler_with_it(
    job_env: dict[str, str], rq_redis: Redis, tmp_path: Path
) -> None:
    # Given a worker whose cron scheduler has registered
    log = tmp_path / "worker.log"
    worker = _start_worker(job_env, log)
    try:
        await until(lambda: len(CronScheduler.all(rq_redis)) == 1, 20, "the worker's cron scheduler")
        # When the worker is killed with SIGKILL (no chance to stop its scheduler itself)
        worker.kill()
        assert worker.wait(timeout=5) == -signal.SIGKILL
        # Then the scheduler stops too and unregisters: no orphan keeps enqueuing
        await until(lambda: CronScheduler.all(rq_redis) == [], 15, "the orphaned scheduler to stop")
    finally:
        worker.kill()
        worker.wait()
    assert "received shutdown signal 15" in log.read_text()


async def test_the_embedded_runner_enqueues_the_periodic_jobs_itself(tmp_path: Path, sink: Sink) -> None:
    fakeredis.FakeRedis(server=embedded_server()).flushall()
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}",
        redis_url="memory://",
        redis_channel_prefix="embedded-cron",
        smtp_port=sink.port,
        due_soon_scan_interval_seconds=1,
    )
    services = build_services(settings)
    await upgrade_to_head(services.db.engine)
    place = await office(services, "embedded")
    dee, dee_email = await place.user("dee")
    await place.task("embedded", assignee_id=dee, reporter_id=dee, due=datetime.now(UTC).date())
    jobs = EmbeddedJobs(settings, poll_seconds=0.05)
    finished_scans = FinishedJobRegistry(DEFAULT, connection=jobs.connection, serializer=JSONSerializer)

    def scans() -> int:
        return sum(job_id.startswith("cron-due-soon-scan-") for job_id in finished_scans.get_job_ids())

    jobs.start()
    try:
        # When the runner's thread has run two scans
        await until(lambda: scans() >= 2, 15, "two scans in the embedded runner")
        await until(lambda: bool(sink.to(dee_email)), 10, "the due-soon email")
    finally:
        await asyncio.to_thread(jobs.stop)
        await services.cache.redis.aclose()
        await services.db.dispose()
    # Then the assignee got the due-soon email once
    assert len(sink.to(dee_email)) == 1


def _wait(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_scheduler_outlives_a_redis_restart(
    private_redis: PrivateRedis, job_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**job_env, "TASKQL_REDIS_URL": private_redis.url, "TASKQL_DUE_SOON_SCAN_INTERVAL_SECONDS": "1"}
    log = tmp_path / "cron.log"

    def scans(connection: Redis) -> list[str]:
        return [job_id for job_id in queue(DEFAULT, connection).get_job_ids() if job_id.startswith("cron-")]

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.cron"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    replacement: subprocess.Popen[bytes] | None = None
    try:
        with Redis.from_url(private_redis.url) as first:
            _wait(lambda: bool(scans(first)), 20, "a scan in the first server")
        # When Redis goes away, and a new (empty) server takes its port
        private_redis.kill()
        _wait(lambda: "starting again" in log.read_text(), 10, "the scheduler to notice")
        binary = shutil.which("redis-server")
        assert binary is not None
        arguments = [binary, "--port", str(private_redis.port), "--bind", "127.0.0.1", "--save", ""]
        replacement = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - fixed arguments
        # Then the same process schedules into it
        with Redis.from_url(private_redis.url) as second:
            _wait(lambda: _answers(second) and bool(scans(second)), 20, "a scan in the new server")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        if replacement is not None:
            replacement.kill()
            replacement.wait(timeout=5)
    assert code == 0, log.read_text()


def _answers(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except RedisError:
        return False
