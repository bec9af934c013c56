"""Webhooks end to end: relay -> RQ on the suite's Redis -> a real worker process -> a real HTTP receiver.

The receiver (tests/jobs/receiver.py) verifies every signature with the endpoint's secret and answers
from a script. The worker may reach 127.0.0.1 (its allowlist) and gives up on an answer after 1 s.
Retries are enqueued by a relay of the test's own with a 0.01 s backoff base: the policy's waits are
then [1, 1, 1, 1, 1] s.
"""

from __future__ import annotations

import itertools

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import update

from jobs.enqueue import WebhookDeliveries, webhook_job_id
from jobs.queues import WEBHOOK_RETRY
from persistence.enums import DeliveryStatus
from persistence.models import WebhookEndpoint
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient, make_settings
from tests.jobs.receiver import Receiver
from tests.jobs.waiting import finished, until
from tests.notification_crew import MakeOrg, make_crew
from tests.relays import own_relay
from tests.webhook_fixtures import add_endpoint, attempts_of, deliveries_of, unpublished_event, until_status

pytestmark = pytest.mark.usefixtures("webhook_worker")

BASE_SECONDS = 0.01
SECRET = "whsec_test_secret"
DONE = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD)
VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"
REDELIVER = (
    "mutation($id: ID!) { webhookDeliveryRedeliver(deliveryId: $id) { delivery { deliveryId status } } }"
)
DEAD_LETTERS = """query($id: ID!) { webhook(id: $id) { deliveries(status: DEAD) {
  totalCount nodes { id deliveryId eventType attemptCount lastResponseCode
                     attempts { number responseCode outcome durationMs } } } } }"""
_paths = itertools.count(1)


def _path() -> str:
    return f"/hooks/{next(_paths)}"


@pytest.fixture
def hook(rq_redis: Redis) -> WebhookDeliveries:
    return WebhookDeliveries(make_settings(job_backoff_base_seconds=BASE_SECONDS), connection=rq_redis)


async def _publish(services: Services, hook: WebhookDeliveries, event_id: int) -> None:
    assert await own_relay(services, grace_seconds=0, on_committed=[hook]).publish([event_id]) == 1


async def test_an_assignment_through_graphql_arrives_signed_once(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, receiver: Receiver, rq_redis: Redis
) -> None:
    crew = await make_crew(services, gql, make_org)
    path, elsewhere = _path(), _path()
    endpoint_id = await add_endpoint(
        services, crew.org, receiver.endpoint(path, SECRET), SECRET, ["task.assigned"]
    )
    # An endpoint that chose other types, and another organization's endpoint for the same type
    other_type = await add_endpoint(
        services, crew.org, receiver.endpoint(elsewhere, SECRET), SECRET, ["label.created"]
    )
    other_org = await add_endpoint(
        services, crew.other, receiver.endpoint(elsewhere, SECRET), SECRET, ["task.assigned"]
    )
    # When the author assigns the task to the colleague through the API
    task_gid = encode_id("Task", crew.task_id)
    version = (await crew.clients["author"].run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assign = {
        "i": {"id": task_gid, "version": version, "assigneeId": encode_id("User", crew.ids["colleague"])}
    }
    assert (await crew.clients["author"].run(ASSIGN, assign))["data"]["taskAssign"]["errors"] == []
    # Then the receiver gets one POST whose signature verifies
    await until(lambda: bool(receiver.received(path)), 15, "the webhook")
    [delivery] = await deliveries_of(services, endpoint_id)
    await until(lambda: finished(rq_redis, webhook_job_id(delivery.id)), 5, "the job to finish")
    [received] = receiver.received(path)
    assert received.verified
    body = received.json
    # With the stable delivery id in the header and the body, the event and its payload (no request hash)
    assert received.delivery == body["id"] == f"whd_{delivery.id}"
    assert received.headers["taskql-event"] == body["type"] == "task.assigned"
    assert body["organization_id"] == crew.org.organization_id
    assert body["data"]["event_id"] == delivery.event_id
    assert body["data"]["task_id"] == crew.task_id
    assert body["data"]["payload"]["changes"]["assignee_id"] == crew.ids["colleague"]
    # And the delivery succeeded at its first attempt, recorded
    delivery = await until_status(services, delivery.id, DONE, 5)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("succeeded", 1, 200)
    [attempt] = await attempts_of(services, delivery.id)
    assert (attempt.number, attempt.outcome, attempt.response_code) == (1, "success", 200)
    assert 0 <= attempt.duration_ms < 5000
    # And nothing for the endpoint of other types nor for the other organization's
    assert await deliveries_of(services, other_type) == []
    assert await deliveries_of(services, other_org) == []
    assert receiver.received(elsewhere) == []
    # And the same delivery is never enqueued twice
    hook = WebhookDeliveries(make_settings(), connection=rq_redis)
    assert hook.enqueue_deliveries([delivery.id, delivery.id]) == 0


async def test_two_failures_then_success_is_three_attempts_at_the_policy_waits(
    services: Services, make_org: MakeOrg, receiver: Receiver, rq_redis: Redis, hook: WebhookDeliveries
) -> None:
    org, path = await make_org(), _path()
    endpoint_id = await add_endpoint(
        services, org, receiver.endpoint(path, SECRET, ["500", "500"]), SECRET, ["task.updated"]
    )
    # When an event is published and the receiver fails twice, then answers 200
    await _publish(services, hook, await unpublished_event(services, org))
    [delivery] = await deliveries_of(services, endpoint_id)
    job = Job.fetch(webhook_job_id(delivery.id), connection=rq_redis, serializer=JSONSerializer)
    assert job.retry_intervals == WEBHOOK_RETRY.delays(BASE_SECONDS) == [1, 1, 1, 1, 1]
    delivery = await until_status(services, delivery.id, DONE, 20)
    # Then it succeeded at the third attempt, each attempt recorded with its code and duration
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("succeeded", 3, 200)
    attempts = await attempts_of(services, delivery.id)
    assert [(a.number, a.outcome, a.response_code) for a in attempts] == [
        (1, "http_error", 500),
        (2, "http_error", 500),
        (3, "success", 200),
    ]
    assert all(a.duration_ms >= 0 for a in attempts)
    # Each retry came after the one before (RQ keeps a retry's due time in whole seconds, so a 1 s
    # wait may end up to a second early: the waits themselves are the job's retry_intervals above)
    for before, after in itertools.pairwise(attempts):
        assert after.started_at > before.started_at
    # And the receiver saw the same signed body, under the same delivery id, three times
    received = receiver.received(path)
    assert len(received) == 3
    assert all(r.verified for r in received)
    assert {r.delivery for r in received} == {f"whd_{delivery.id}"}
    assert len({r.body for r in received}) == 1


async def test_a_receiver_failing_every_time_makes_a_dead_letter_that_redelivers(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, receiver: Receiver, hook: WebhookDeliveries
) -> None:
    org, path = await make_org(), _path()
    url = receiver.endpoint(path, SECRET, ["500"] * 6)
    endpoint_id = await add_endpoint(services, org, url, SECRET, ["task.updated"])
    await _publish(services, hook, await unpublished_event(services, org))
    [delivery] = await deliveries_of(services, endpoint_id)
    # When every attempt fails
    delivery = await until_status(services, delivery.id, DONE, 30)
    # Then it is dead after the first attempt and its 5 retries
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("dead", 6, 500)
    assert [a.response_code for a in await attempts_of(services, delivery.id)] == [500] * 6
    assert len(receiver.received(path)) == 6
    # And the owner finds it among the endpoint's dead letters
    owner = gql.as_user(await gql.login(org.owner_email))
    webhook_gid, delivery_gid = encode_id("Webhook", endpoint_id), encode_id("WebhookDelivery", delivery.id)
    log = (await owner.run(DEAD_LETTERS, {"id": webhook_gid}))["data"]["webhook"]["deliveries"]
    assert log["totalCount"] == 1
    [dead] = log["nodes"]
    assert (dead["id"], dead["deliveryId"], dead["attemptCount"]) == (delivery_gid, f"whd_{delivery.id}", 6)
    assert [a["number"] for a in dead["attempts"]] == [1, 2, 3, 4, 5, 6]
    assert {a["outcome"] for a in dead["attempts"]} == {"HTTP_ERROR"}
    # When the owner redelivers it (the receiver answers 200 now)
    answer = await owner.run(REDELIVER, {"id": delivery_gid})
    assert answer["data"]["webhookDeliveryRedeliver"]["delivery"]["status"] == "PENDING", answer
    # Then it succeeds, under the same delivery id and body, as a job of its own
    delivery = await until_status(services, delivery.id, (DeliveryStatus.SUCCEEDED,), 10)
    assert (delivery.attempts, delivery.redeliveries, delivery.last_response_code) == (7, 1, 200)
    received = receiver.received(path)
    assert len(received) == 7
    assert received[-1].delivery == received[0].delivery == f"whd_{delivery.id}"
    assert received[-1].body == received[0].body
    assert received[-1].verified
    log = (await owner.run(DEAD_LETTERS, {"id": webhook_gid}))["data"]["webhook"]["deliveries"]
    assert log == {"totalCount": 0, "nodes": []}


async def test_a_receiver_too_slow_to_answer_is_a_timeout_then_retried(
    services: Services, make_org: MakeOrg, receiver: Receiver, hook: WebhookDeliveries
) -> None:
    org, path = await make_org(), _path()
    endpoint_id = await add_endpoint(
        services, org, receiver.endpoint(path, SECRET, ["sleep"]), SECRET, ["task.updated"]
    )
    await _publish(services, hook, await unpublished_event(services, org))
    [delivery] = await deliveries_of(services, endpoint_id)
    delivery = await until_status(services, delivery.id, DONE, 15)
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    first, second = await attempts_of(services, delivery.id)
    assert (first.outcome, first.response_code) == ("timeout", None)
    assert 900 <= first.duration_ms < 1600
    assert "within 1.0 s" in first.error
    assert (second.outcome, second.response_code) == ("success", 200)


async def test_a_gone_receiver_makes_the_delivery_dead_at_once(
    services: Services, make_org: MakeOrg, receiver: Receiver, hook: WebhookDeliveries
) -> None:
    org, path = await make_org(), _path()
    endpoint_id = await add_endpoint(
        services, org, receiver.endpoint(path, SECRET, ["410"]), SECRET, ["task.updated"]
    )
    await _publish(services, hook, await unpublished_event(services, org))
    [delivery] = await deliveries_of(services, endpoint_id)
    delivery = await until_status(services, delivery.id, DONE, 10)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("dead", 1, 410)
    assert len(receiver.received(path)) == 1


@pytest.mark.parametrize("host", ["localhost", "10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:127.0.0.1]"])
async def test_an_address_refused_at_send_time_is_dead_at_once_and_nothing_is_sent(
    services: Services, make_org: MakeOrg, receiver: Receiver, hook: WebhookDeliveries, host: str
) -> None:
    # Given an endpoint stored with an address webhooks may not reach (the worker allows 127.0.0.1
    # only: "localhost" is the receiver under another name)
    org, path = await make_org(), _path()
    receiver.endpoint(path, SECRET)
    url = f"http://{host}:{receiver.port}{path}"
    endpoint_id = await add_endpoint(services, org, url, SECRET, ["task.updated"])
    await _publish(services, hook, await unpublished_event(services, org))
    [delivery] = await deliveries_of(services, endpoint_id)
    # Then the attempt is refused, not retried, and the receiver got nothing
    delivery = await until_status(services, delivery.id, DONE, 10)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("dead", 1, None)
    [attempt] = await attempts_of(services, delivery.id)
    assert attempt.outcome == "refused"
    assert "may not reach" in attempt.error
    assert receiver.received(path) == []


async def test_a_test_ping_arrives_signed(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, receiver: Receiver
) -> None:
    org, path = await make_org(), _path()
    endpoint_id = await add_endpoint(services, org, receiver.endpoint(path, SECRET), SECRET, ["task.updated"])
    owner = gql.as_user(await gql.login(org.owner_email))
    ping = "mutation($id: ID!) { webhookTest(id: $id) { delivery { deliveryId eventType status } } }"
    answer = await owner.run(ping, {"id": encode_id("Webhook", endpoint_id)})
    sent = answer["data"]["webhookTest"]["delivery"]
    assert (sent["eventType"], sent["status"]) == ("webhook.test", "PENDING")
    await until(lambda: bool(receiver.received(path)), 10, "the ping")
    [received] = receiver.received(path)
    assert received.verified
    assert received.json["type"] == "webhook.test"
    assert received.delivery == sent["deliveryId"]
    assert received.json["data"] == {"webhook_id": endpoint_id, "requested_by": org.user_ids[0]}


async def test_an_endpoint_deactivated_before_the_job_runs_gets_nothing(
    services: Services, make_org: MakeOrg, receiver: Receiver, rq_redis: Redis
) -> None:
    org, path = await make_org(), _path()
    endpoint_id = await add_endpoint(services, org, receiver.endpoint(path, SECRET), SECRET, ["task.updated"])
    # Given a delivery derived (not yet enqueued) while the endpoint was active
    assert await own_relay(services, grace_seconds=0).publish([await unpublished_event(services, org)]) == 1
    [delivery] = await deliveries_of(services, endpoint_id)
    # When the endpoint is deactivated, and then the job runs
    async with services.db.unit_of_work() as conn:
        table = WebhookEndpoint.__table__
        await conn.execute(update(WebhookEndpoint).where(table.c.id == endpoint_id).values(active=False))
    hook = WebhookDeliveries(make_settings(), connection=rq_redis)
    assert hook.enqueue_deliveries([delivery.id]) == 1
    job_id = webhook_job_id(delivery.id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    # Then it skipped: nothing sent, nothing attempted
    assert Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).return_value() == "skipped"
    assert receiver.received(path) == []
    assert await attempts_of(services, delivery.id) == []
