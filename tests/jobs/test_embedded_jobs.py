"""The embedded default (SQLite, in-process Redis) sends notification emails on the same code path:
the relay enqueues into the in-process Redis and a worker thread runs the job, retries included."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from jobs.embedded import EmbeddedJobs
from jobs.enqueue import email_job_id
from jobs.queues import job_settings
from persistence.migrate import upgrade_to_head
from persistence.redis import embedded_server
from persistence.seed import SeededOrganization, seed_organization
from resolvers.context import Services
from schema.app import build_services, create_app
from schema.ids import encode_id
from tests.conftest import PASSWORD, SMALL, GraphQLClient, make_settings
from tests.jobs.sink import Sink, running_sink
from tests.notification_crew import make_crew, notifications_of

VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as handler:
        yield handler


@pytest.fixture
async def embedded(tmp_path: Path, sink: Sink) -> AsyncIterator[tuple[Services, GraphQLClient, EmbeddedJobs]]:
    # Jobs other embedded tests enqueued (with no worker) must not run against this database.
    fakeredis.FakeRedis(server=embedded_server()).flushall()
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}",
        redis_url="memory://",
        redis_channel_prefix="embedded-jobs",
        smtp_port=sink.port,
        job_backoff_base_seconds=0.25,
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
    numbers = itertools.count(1)

    async def make_org() -> SeededOrganization:
        number = next(numbers)
        return await seed_organization(
            services.db,
            services.passwords,
            SMALL,
            slug=f"embedded-jobs{number}",
            owner_email=f"owner{number}@embedded-jobs.test",
            password=PASSWORD,
            rng_seed=number,
        )

    crew = await make_crew(services, gql, make_org)
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
    job = Job.fetch(email_job_id(stored.id), connection=jobs.connection, serializer=JSONSerializer)
    deadline = asyncio.get_running_loop().time() + 5
    while job.get_status() != JobStatus.FINISHED:
        assert asyncio.get_running_loop().time() < deadline, job.get_status()
        await asyncio.sleep(0.05)
