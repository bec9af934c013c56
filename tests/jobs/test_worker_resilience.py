"""A real worker (``python -m jobs.worker``) that dies, is stopped or loses its Redis mid-work.

The SMTP sink holds a message before answering its DATA, so a job is mid-send when the test acts.
Workers here check for abandoned jobs every second and take a started job as abandoned one second
past its timeout (JOB_TIMEOUT_SECONDS); retries wait 1 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from jobs.enqueue import NOTIFICATION_EMAIL, NotificationEmails
from jobs.queues import HIGH, connect, queue
from perf.shared.private_redis import PrivateRedis
from resolvers.context import Services
from tests.conftest import make_settings
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.jobs.worker_process import start_worker, stop_worker
from tests.notification_crew import MakeOrg, add_notifications, make_crew

JOB_TIMEOUT_SECONDS = 4
FAST_MAINTENANCE = {"worker_maintenance_interval_seconds": "1", "worker_abandoned_grace_seconds": "1"}


def _enqueuer(connection: Redis) -> NotificationEmails:
    settings = make_settings(job_backoff_base_seconds=0.25, job_timeout_seconds=JOB_TIMEOUT_SECONDS)
    return NotificationEmails(settings, connection=connection)


async def _notifications(services: Services, make_org: MakeOrg, count: int) -> tuple[list[int], str]:
    """``count`` notifications for one recipient; their ids and the recipient's address."""
    crew = await make_crew(services, None, make_org)
    ids = await add_notifications(
        services, crew.org.organization_id, crew.ids["colleague"], crew.task_id, crew.ids["author"], count,
        project_id=crew.project_id,
    )  # fmt: skip
    return list(ids), crew.emails["colleague"]


def _status(connection: Redis, job_id: str) -> JobStatus | None:
    return Job.fetch(job_id, connection=connection, serializer=JSONSerializer).get_status()


@pytest.fixture
def held_sink(sink: Sink) -> Iterator[Sink]:
    """The module's sink; whatever a test leaves held is released when it ends."""
    yield sink
    sink.release()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start(held_sink: Sink, log: Path) -> Iterator[Start]:
    """Starts workers on the sink, logging to ``log``; a test that fails leaves none running."""
    started: list[subprocess.Popen[bytes]] = []

    def launch(**settings: str) -> subprocess.Popen[bytes]:
        started.append(start_worker(held_sink.port, log, **settings))
        return started[-1]

    yield launch
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def _text(log: Path) -> str:
    return log.read_text()


async def _until(check: Callable[[], bool], within: float, what: str, log: Path) -> None:
    """``until``, with the workers' log when it times out."""
    try:
        await until(check, within, what)
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; worker log:\n{_text(log)}") from None


async def _until_held(sink: Sink, log: Path) -> None:
    await _until(sink.held.is_set, 15, "the worker to be mid-send", log)


async def test_a_job_whose_worker_is_killed_mid_send_runs_again_and_is_kept_once(
    services: Services, make_org: MakeOrg, held_sink: Sink, rq_redis: Redis, log: Path, start: Start
) -> None:
    [notification_id], address = await _notifications(services, make_org, 1)
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    # Given a worker that is mid-send (the server has the message, and has not answered yet)
    first = start(**FAST_MAINTENANCE)
    held_sink.hold_next()
    assert _enqueuer(rq_redis).enqueue_all([notification_id]) == 1
    await _until_held(held_sink, log)
    # When it is killed outright
    first.kill()
    assert first.wait(timeout=5) == -signal.SIGKILL
    assert _status(rq_redis, job_id) == JobStatus.STARTED
    # Then a new worker takes the job as abandoned (1 s past its timeout), retries it, and it finishes
    second = start(**FAST_MAINTENANCE)
    try:
        await _until(lambda: finished(rq_redis, job_id), 20, "the retried job", log)
    finally:
        stop_worker(second, log)
    # The server saw the same Message-ID twice and kept one message
    [message] = held_sink.to(address)
    assert held_sink.deliveries[str(message["Message-ID"])] == 2
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert job.retries_left == 2


async def test_sigterm_mid_job_finishes_it_exits_0_and_leaves_the_next_job_queued(
    services: Services, make_org: MakeOrg, held_sink: Sink, rq_redis: Redis, log: Path, start: Start
) -> None:
    [running_id, waiting_id], address = await _notifications(services, make_org, 2)
    running, waiting = NOTIFICATION_EMAIL.job_id(running_id), NOTIFICATION_EMAIL.job_id(waiting_id)
    enqueuer = _enqueuer(rq_redis)
    # Given a worker mid-send with one more job queued behind it
    worker = start()
    held_sink.hold_next()
    assert enqueuer.enqueue_all([running_id]) == 1
    await _until_held(held_sink, log)
    assert enqueuer.enqueue_all([waiting_id]) == 1
    # When it is asked to stop, it keeps working on the job
    worker.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    assert worker.poll() is None
    # Then once the server answers, the job finishes, the worker exits 0 and the next job waits
    held_sink.release()
    code = await asyncio.to_thread(worker.wait, 15)
    assert code == 0, _text(log)
    assert _status(rq_redis, running) == JobStatus.FINISHED
    [message] = held_sink.to(address)
    assert held_sink.deliveries[str(message["Message-ID"])] == 1
    assert _status(rq_redis, waiting) == JobStatus.QUEUED
    assert waiting in queue(HIGH, rq_redis).get_job_ids()
    # For the next worker, which runs it
    successor = start()
    try:
        await _until(lambda: finished(rq_redis, waiting), 15, "the queued job", log)
    finally:
        stop_worker(successor, log)
    assert len(held_sink.to(address)) == 2


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def _forked_children(pid: int) -> list[int]:
    """``pid``'s children that are forks of it (its scheduler): not a command it runs for a moment
    (while starting, the worker runs ``file -b`` on its interpreter, through the platform module)."""
    with open(f"/proc/{pid}/cmdline", "rb") as listing:
        own = listing.read()
    forked = []
    for child in _children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as listing:
                if listing.read() == own:
                    forked.append(child)
        except OSError:
            continue  # it has ended meanwhile
    return forked


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent, the test, reaps only what it started).
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


async def test_the_scheduler_of_a_killed_worker_stops_and_frees_its_lock(
    held_sink: Sink, rq_redis: Redis, log: Path, start: Start
) -> None:
    # Given a worker whose scheduler (a forked child) holds the scheduler lock of the high queue
    worker = start()
    lock = RQScheduler.get_locking_key(HIGH)
    try:
        await _until(lambda: bool(_forked_children(worker.pid)), 10, "the scheduler", log)
        [scheduler_pid] = _forked_children(worker.pid)
        await until(lambda: rq_redis.exists(lock) == 1, 10, "the scheduler lock")
    finally:
        # When the worker is killed outright
        worker.kill()
        worker.wait(timeout=5)
    # Then its scheduler stops within a few seconds and releases the lock for the next worker's
    await until(lambda: not _alive(scheduler_pid), 5, "the orphaned scheduler to stop")
    assert rq_redis.exists(lock) == 0


async def test_a_worker_survives_a_redis_restart_and_runs_what_is_enqueued_after_it(
    services: Services,
    make_org: MakeOrg,
    held_sink: Sink,
    private_redis: PrivateRedis,
    log: Path,
    start: Start,
) -> None:
    [before_id, after_id], address = await _notifications(services, make_org, 2)
    settings = make_settings(redis_url=private_redis.url)
    # Given a worker on a Redis of its own, which has run a job
    worker = start(redis_url=private_redis.url, **FAST_MAINTENANCE)
    try:
        connection = connect(settings)
        assert _enqueuer(connection).enqueue_all([before_id]) == 1
        before = NOTIFICATION_EMAIL.job_id(before_id)
        await _until(lambda: finished(connection, before), 15, "the first job", log)
        connection.close()
        # When that Redis crashes and comes back empty
        private_redis.restart()
        # Then a job enqueued afterwards is run by the same worker process
        connection = connect(settings)
        assert _enqueuer(connection).enqueue_all([after_id]) == 1
        after = NOTIFICATION_EMAIL.job_id(after_id)
        await _until(lambda: finished(connection, after), 20, "the job after the restart", log)
        connection.close()
        assert worker.poll() is None
        assert len(held_sink.to(address)) == 2
    finally:
        stop_worker(worker, log)


async def test_a_job_stopped_by_its_timeout_mid_query_leaves_the_worker_loop_and_pool_usable(
    rq_redis: Redis, log: Path, start: Start
) -> None:
    probe = "tests.jobs.probe_jobs.connection_after_sleeping"
    high = queue(HIGH, rq_redis)
    worker = start()
    # Given a job that its 1 s timeout stops in the middle of a 5 s query
    stopped = high.enqueue_call(probe, args=(5,), timeout=1)
    await _until(lambda: _status(rq_redis, stopped.id) == JobStatus.FAILED, 15, "the timeout", log)
    result = Job.fetch(stopped.id, connection=rq_redis, serializer=JSONSerializer).latest_result()
    assert result is not None
    assert "JobTimeoutException" in (result.exc_string or "")
    # Then the next jobs run on the same worker, one after the other on one pooled connection
    after = [high.enqueue_call(probe, args=(0,), timeout=5) for _ in range(2)]
    for job_id in (job.id for job in after):
        await _until(partial(finished, rq_redis, job_id), 10, "the next job", log)
    first, second = (
        Job.fetch(j.id, connection=rq_redis, serializer=JSONSerializer).return_value() for j in after
    )
    assert first == second
    assert worker.poll() is None
    stop_worker(worker, log)
