"""Push notifications end to end: relay -> RQ on the suite's Redis -> a real worker process (its
``TASKQL_PUSH_GATEWAY_URL`` set) -> a real HTTP gateway (tests/jobs/gateway.py) that records each
POST and answers what a test scripted. Retries are enqueued with a 0.25 s backoff base (1 s waits)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import delete, select

from jobs.enqueue import NOTIFICATION_PUSH, NotificationPushes
from jobs.push import SENT, SKIPPED
from persistence.enums import PushPlatform
from persistence.models import ProjectMember, PushDevice, Task
from persistence.models.base import utcnow
from persistence.queries import push_devices
from persistence.queries.scope import Scope
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient, make_settings
from tests.jobs.conftest import running_worker
from tests.jobs.gateway import Gateway, running_gateway
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.notification_crew import Crew, MakeOrg, add_notifications, make_crew, notifications_of

BASE_SECONDS = 0.25
VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"
REGISTER = """
mutation($i: PushDeviceRegisterInput!) { pushDeviceRegister(input: $i) { device { id } errors { code } } }"""
_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with running_gateway() as recording:
        yield recording


@pytest.fixture(scope="module")
def push_worker(
    database: str, redis_url: str, sink: Sink, gateway: Gateway, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    env = {"TASKQL_PUSH_GATEWAY_URL": gateway.url, "TASKQL_PUSH_TIMEOUT_SECONDS": "2"}
    with running_worker(sink, tmp_path_factory.mktemp("push-worker"), env) as process:
        yield process


def _push_settings(gateway: Gateway) -> Any:
    return make_settings(push_gateway_url=gateway.url, push_backoff_base_seconds=BASE_SECONDS)


@pytest.fixture
def pushes(gateway: Gateway, rq_redis: Redis) -> NotificationPushes:
    return NotificationPushes(_push_settings(gateway), connection=rq_redis)


@pytest.fixture
def relay_pushes(services: Services, pushes: NotificationPushes) -> Iterator[NotificationPushes]:
    """The suite's relay with the push hook, as ``build_services`` wires it when a gateway is set
    (the suite's own settings have none)."""
    hooks = services.relay.on_committed
    services.relay.on_committed = (*hooks, pushes)
    yield pushes
    services.relay.on_committed = hooks


def _token(crew: Crew, name: str) -> str:
    return f"{name}-{crew.org.organization_id}-{next(_tokens)}-0123456789abcdef"


async def _device(services: Services, crew: Crew, who: str, token: str, platform: PushPlatform) -> int:
    """A device of ``who``'s, registered the way pushDeviceRegister does."""
    scope = Scope(crew.org.organization_id, crew.ids[who], sees_all_projects=False)
    async with services.db.unit_of_work() as conn:
        row = await push_devices.register_device(conn, scope, token, platform, utcnow())
    return int(row.id)


async def _tokens_of(services: Services, user_id: int) -> list[str]:
    async with services.db.read() as conn:
        statement = select(PushDevice.token).where(PushDevice.user_id == user_id).order_by(PushDevice.id)
        return list((await conn.scalars(statement)).all())


async def _notification(services: Services, crew: Crew, recipient: str) -> int:
    [notification_id] = await add_notifications(
        services, crew.org.organization_id, crew.ids[recipient], crew.task_id, crew.ids["author"], 1,
        project_id=crew.project_id,
    )  # fmt: skip
    return notification_id


def _result(rq_redis: Redis, job_id: str) -> Any:
    return Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).return_value()


@pytest.mark.usefixtures("push_worker", "relay_pushes")
async def test_an_assignment_pushes_once_to_each_device_with_stable_delivery_ids(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, gateway: Gateway, rq_redis: Redis
) -> None:
    # Given a colleague with a phone and a browser registered through the API
    crew = await make_crew(services, gql, make_org)
    colleague = crew.clients["colleague"]
    phone, browser = _token(crew, "phone"), _token(crew, "browser")
    for token, platform in ((phone, "IOS"), (browser, "WEB")):
        registered = await colleague.run(REGISTER, {"i": {"token": token, "platform": platform}})
        assert registered["data"]["pushDeviceRegister"]["errors"] == [], registered
    async with services.db.read() as conn:
        rows = (await conn.execute(select(PushDevice.id, PushDevice.token))).all()
    device_ids = {row.token: row.id for row in rows if row.token in (phone, browser)}
    # When the author assigns the task to the colleague
    author, task_gid = crew.clients["author"], encode_id("Task", crew.task_id)
    version = (await author.run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assign = {
        "i": {"id": task_gid, "version": version, "assigneeId": encode_id("User", crew.ids["colleague"])}
    }
    assert (await author.run(ASSIGN, assign))["data"]["taskAssign"]["errors"] == []
    # Then the worker pushes one notice to each device
    await until(lambda: bool(gateway.to(phone)) and bool(gateway.to(browser)), 15, "both pushes")
    [stored] = await notifications_of(services, crew.ids["colleague"])
    job_id = NOTIFICATION_PUSH.job_id(stored.id)
    assert job_id == f"push-notification-{stored.id}"
    await until(lambda: finished(rq_redis, job_id), 5, "the job to finish")
    assert _result(rq_redis, job_id) == SENT
    async with services.db.read() as conn:
        title = await conn.scalar(select(Task.title).where(Task.id == crew.task_id))
    [to_phone], [to_browser] = gateway.to(phone), gateway.to(browser)
    assert to_phone["delivery_id"] == f"push-{stored.id}-{device_ids[phone]}"
    assert to_browser["delivery_id"] == f"push-{stored.id}-{device_ids[browser]}"
    assert (to_phone["platform"], to_browser["platform"]) == ("ios", "web")
    assert "assigned you" in to_phone["title"]
    assert title in to_phone["body"]
    assert to_phone["data"] == {"notification_id": stored.id, "kind": "assigned", "task_id": crew.task_id}
    # And the same notification handed over again is refused by its job id: nothing more is pushed
    assert pushes_enqueued(services, stored.id) == 0
    await asyncio.sleep(0.5)
    assert len(gateway.to(phone)) == len(gateway.to(browser)) == 1


def pushes_enqueued(services: Services, notification_id: int) -> int:
    [hook] = [hook for hook in services.relay.on_committed if isinstance(hook, NotificationPushes)]
    return hook.enqueue_all([notification_id])


@pytest.mark.usefixtures("push_worker")
async def test_a_410_prunes_that_device_and_the_others_still_get_theirs(
    services: Services, make_org: MakeOrg, gateway: Gateway, rq_redis: Redis, pushes: NotificationPushes
) -> None:
    # Given a colleague with a dead token (the gateway answers 410) and a live one
    crew = await make_crew(services, None, make_org)
    dead, live = _token(crew, "dead"), _token(crew, "live")
    await _device(services, crew, "colleague", dead, PushPlatform.ANDROID)
    await _device(services, crew, "colleague", live, PushPlatform.IOS)
    gateway.answers[dead] = [410]
    # When a notification of theirs is pushed
    notification_id = await _notification(services, crew, "colleague")
    assert pushes.enqueue_all([notification_id]) == 1
    job_id = NOTIFICATION_PUSH.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    # Then it succeeded without retries, and the dead device is gone while the live one stays
    assert _result(rq_redis, job_id) == SENT
    assert len(gateway.to(dead)) == len(gateway.to(live)) == 1
    assert await _tokens_of(services, crew.ids["colleague"]) == [live]


@pytest.mark.usefixtures("push_worker")
async def test_a_failing_gateway_is_retried_with_the_same_delivery_ids(
    services: Services, make_org: MakeOrg, gateway: Gateway, rq_redis: Redis, pushes: NotificationPushes
) -> None:
    # Given a gateway that answers 500 for one device's first attempt, 200 for the other
    crew = await make_crew(services, None, make_org)
    flaky, steady = _token(crew, "flaky"), _token(crew, "steady")
    await _device(services, crew, "colleague", flaky, PushPlatform.ANDROID)
    await _device(services, crew, "colleague", steady, PushPlatform.WEB)
    gateway.answers[flaky] = [500]
    # When a notification of theirs is pushed
    notification_id = await _notification(services, crew, "colleague")
    assert pushes.enqueue_all([notification_id]) == 1
    job_id = NOTIFICATION_PUSH.job_id(notification_id)
    # Then a scheduled retry delivers it: each device got two POSTs under one delivery id
    await until(lambda: len(gateway.to(flaky)) == 2, 15, "the retried push")
    await until(lambda: finished(rq_redis, job_id), 5, "the job to finish")
    assert _result(rq_redis, job_id) == SENT
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert job.retries_left == 2
    for token in (flaky, steady):
        attempts = gateway.to(token)
        assert len(attempts) == 2
        assert attempts[0]["delivery_id"] == attempts[1]["delivery_id"]
    # And both devices are kept (a 500 prunes nothing)
    assert await _tokens_of(services, crew.ids["colleague"]) == [flaky, steady]


@pytest.mark.usefixtures("push_worker")
async def test_a_recipient_who_lost_access_gets_no_push(
    services: Services, make_org: MakeOrg, gateway: Gateway, rq_redis: Redis, pushes: NotificationPushes
) -> None:
    # Given a notification for the colleague, who then leaves the task's project
    crew = await make_crew(services, None, make_org)
    token = _token(crew, "phone")
    await _device(services, crew, "colleague", token, PushPlatform.IOS)
    notification_id = await _notification(services, crew, "colleague")
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            delete(ProjectMember).where(
                ProjectMember.project_id == crew.project_id, ProjectMember.user_id == crew.ids["colleague"]
            )
        )
    # When its push job runs
    assert pushes.enqueue_all([notification_id]) == 1
    job_id = NOTIFICATION_PUSH.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    # Then nothing about the task is pushed, and the device stays
    assert _result(rq_redis, job_id) == SKIPPED
    assert gateway.to(token) == []
    assert await _tokens_of(services, crew.ids["colleague"]) == [token]
