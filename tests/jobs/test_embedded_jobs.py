"""The embedded default (SQLite, in-process Redis) sends notification emails and pushes on the same code
path: the relay enqueues into the in-process Redis and a worker thread runs the job, retries included."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fakeredis
import httpx
import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from jobs.embedded import EmbeddedJobs
from jobs.enqueue import NOTIFICATION_EMAIL, NOTIFICATION_PUSH
from jobs.queues import job_settings
from persistence.enums import TaskStatus
from persistence.migrate import upgrade_to_head
from persistence.models import Task
from persistence.redis import embedded_server
from persistence.seed import seed_organization
from resolvers.context import Services
from schema.app import build_services, create_app
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, SMALL, GraphQLClient, make_settings, org_maker
from tests.jobs.gateway import Gateway, running_gateway
from tests.jobs.sink import Sink, running_sink
from tests.notification_crew import make_crew, notifications_of

VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"
REGISTER = """
mutation($i: PushDeviceRegisterInput!) { pushDeviceRegister(input: $i) { device { id } errors { code } } }"""


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as handler:
        yield handler


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with running_gateway() as recording:
        yield recording


@pytest.fixture
async def embedded(
    tmp_path: Path, sink: Sink, gateway: Gateway
) -> AsyncIterator[tuple[Services, GraphQLClient, EmbeddedJobs]]:
    # Jobs other embedded tests enqueued (with no worker) must not run against this database.
    fakeredis.FakeRedis(server=embedded_server()).flushall()
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}",
        redis_url="memory://",
        redis_channel_prefix="embedded-jobs",
        smtp_port=sink.port,
        job_backoff_base_seconds=0.25,
        push_gateway_url=gateway.url,
        push_backoff_base_seconds=0.25,
        # A due-soon scan crossing its period mid-test would email the crew about its seeded tasks;
        # test_schedule.py runs the embedded scheduler.
        cron_enabled=False,
    )
    services = build_services(settings)
    await upgrade_to_head(services.db.engine)
    await services.relay.start()
    jobs = EmbeddedJobs(settings, poll_seconds=0.05)
    jobs.start()
    transport = httpx.ASGITransport(app=create_app(services=services), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield services, GraphQLClient(http), jobs
    await asyncio.to_thread(jobs.stop)
    await services.relay.stop()
    await services.cache.redis.aclose()
    await services.db.dispose()


async def test_an_assignment_is_emailed_in_process_after_a_retry(
    embedded: tuple[Services, GraphQLClient, EmbeddedJobs], sink: Sink
) -> None:
    services, gql, jobs = embedded
    crew = await make_crew(services, gql, org_maker(services))
    colleague = crew.emails["colleague"]
    # The job bodies run with the app's settings (SQLite here), not the environment's
    assert job_settings().database_url == services.settings.database_url
    # Given an SMTP server that refuses the first attempt
    sink.refusals[colleague] = 1
    # When the author assigns the task to the colleague
    task_gid, author = encode_id("Task", crew.task_id), crew.clients["author"]
    version = (await author.run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assign: dict[str, Any] = {"id": task_gid, "version": version}
    assign["assigneeId"] = encode_id("User", crew.ids["colleague"])
    assert (await author.run(ASSIGN, {"i": assign}))["data"]["taskAssign"]["errors"] == []
    # Then the thread delivers it on the second attempt (the retry moved back by the thread itself)
    deadline = asyncio.get_running_loop().time() + 15
    while not sink.to(colleague):
        assert asyncio.get_running_loop().time() < deadline, f"no email; attempts: {sink.attempts}"
        await asyncio.sleep(0.05)
    [stored] = await notifications_of(services, crew.ids["colleague"])
    [message] = sink.to(colleague)
    assert message["Message-ID"].startswith(f"<notification.{stored.event_id}.{crew.ids['colleague']}@")
    assert sink.attempts[colleague] == 2
    job = Job.fetch(
        NOTIFICATION_EMAIL.job_id(stored.id), connection=jobs.connection, serializer=JSONSerializer
    )
    deadline = asyncio.get_running_loop().time() + 5
    while job.get_status() != JobStatus.FINISHED:
        assert asyncio.get_running_loop().time() < deadline, job.get_status()
        await asyncio.sleep(0.05)


async def test_an_assignment_is_pushed_in_process_when_a_gateway_is_set(
    embedded: tuple[Services, GraphQLClient, EmbeddedJobs], gateway: Gateway
) -> None:
    services, gql, jobs = embedded
    crew = await make_crew(services, gql, org_maker(services))
    # Given a colleague with a registered phone, and a gateway that fails its first attempt
    token = "embedded-phone-0123456789abcdef"
    register = {"i": {"token": token, "platform": "ANDROID"}}
    registered = await crew.clients["colleague"].run(REGISTER, register)
    assert registered["data"]["pushDeviceRegister"]["errors"] == [], registered
    gateway.answers[token] = [503]
    # When the author assigns the task to the colleague
    task_gid, author = encode_id("Task", crew.task_id), crew.clients["author"]
    version = (await author.run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assign: dict[str, Any] = {"id": task_gid, "version": version}
    assign["assigneeId"] = encode_id("User", crew.ids["colleague"])
    assert (await author.run(ASSIGN, {"i": assign}))["data"]["taskAssign"]["errors"] == []
    # Then the server's own job thread pushes it, retrying under the same delivery id
    deadline = asyncio.get_running_loop().time() + 15
    while len(gateway.to(token)) < 2:
        assert asyncio.get_running_loop().time() < deadline, f"pushes so far: {gateway.received}"
        await asyncio.sleep(0.05)
    [stored] = await notifications_of(services, crew.ids["colleague"])
    first, second = gateway.to(token)
    assert first["delivery_id"] == second["delivery_id"]
    assert first["delivery_id"].startswith(f"push-{stored.id}-")
    job = Job.fetch(
        NOTIFICATION_PUSH.job_id(stored.id), connection=jobs.connection, serializer=JSONSerializer
    )
    deadline = asyncio.get_running_loop().time() + 5
    while job.get_status() != JobStatus.FINISHED:
        assert asyncio.get_running_loop().time() < deadline, job.get_status()
        await asyncio.sleep(0.05)


REPORT = "mutation($p: ID!) { reportRequest(input: {projectId: $p}) { report { id } errors { code } } }"
REPORT_READ = "query($id: ID!) { report(id: $id) { status csvUrl signedCsvUrl signedHtmlUrl } }"


async def test_a_report_is_built_in_process_on_sqlite(
    embedded: tuple[Services, GraphQLClient, EmbeddedJobs],
) -> None:
    services, gql, _ = embedded
    # Given a seeded organization on SQLite, its owner signed in
    org = await seed_organization(
        services.db, services.passwords, SMALL, slug="embedded-reports",
        owner_email="owner@embedded-reports.test", password=PASSWORD, rng_seed=7,
    )  # fmt: skip
    owner = gql.as_user(await gql.login(org.owner_email))
    project_id = org.project_ids[0]
    # When the owner asks for a project's report
    payload = (await owner.run(REPORT, {"p": encode_id("Project", project_id)}))["data"]["reportRequest"]
    assert payload["errors"] == []
    # Then the worker thread builds it with SQLite's own SQL
    deadline = asyncio.get_running_loop().time() + 15
    while (report := (await owner.run(REPORT_READ, {"id": payload["report"]["id"]}))["data"]["report"])[
        "status"
    ] != "SUCCEEDED":
        assert asyncio.get_running_loop().time() < deadline, report
        await asyncio.sleep(0.05)
    response = await owner.http.get(report["csvUrl"], headers={"authorization": f"Bearer {owner.token}"})
    assert response.status_code == 200
    # And its signed links serve its files to a plain GET, each only the file it was signed for
    signed_csv, signed_html = (urlsplit(report[f]) for f in ("signedCsvUrl", "signedHtmlUrl"))
    assert (await owner.http.get(f"{signed_csv.path}?{signed_csv.query}")).text == response.text
    html = await owner.http.get(f"{signed_html.path}?{signed_html.query}")
    assert html.headers["content-type"].startswith("text/html")
    crossed = await owner.http.get(f"{signed_csv.path}?{signed_html.query}")
    assert crossed.status_code == 403
    # And its counts by status are the project's live tasks, counted here apart
    async with services.db.read() as conn:
        counts = await conn.execute(
            select(Task.status, func.count())
            .where(Task.project_id == project_id, Task.deleted_at.is_(None))
            .group_by(Task.status)
        )
        expected = {TaskStatus(status): int(count) for status, count in counts}
    rows = list(csv.reader(io.StringIO(response.text)))
    start = rows.index(["# tasks by status"]) + 2
    counted = {TaskStatus(name): int(count) for name, count in rows[start : start + len(TaskStatus)]}
    assert counted == {status: expected.get(status, 0) for status in TaskStatus}
    assert sum(counted.values()) > 0
    weeks = rows.index(["# throughput (tasks completed per ISO week)"]) + 2
    assert len([row for row in rows[weeks:] if row]) == 12
