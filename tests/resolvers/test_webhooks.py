"""Managing webhooks: owners and admins only, their own organization's only, URLs checked against
SSRF at create and update, event types checked, the secret shown once. A refused request changes
nothing. (Delivery itself is tests/jobs/test_webhooks.py's.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select

from persistence.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from persistence.models.base import utcnow
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient
from tests.notification_crew import Crew, MakeOrg, make_crew
from tests.webhook_fixtures import add_endpoint

# A public address: the check passes without DNS, and these tests never send to it.
PUBLIC_URL = "https://93.184.216.34/hooks/taskql"
FIELDS = "webhook { id url eventTypes active description } secret"
CREATE = f"mutation($i: WebhookCreateInput!) {{ webhookCreate(input: $i) {{ {FIELDS} }} }}"
UPDATE = f"mutation($id: ID!, $i: WebhookUpdateInput!) {{ webhookUpdate(id: $id, input: $i) {{ {FIELDS} }} }}"
DELETE = "mutation($id: ID!) { webhookDelete(id: $id) { deletedId } }"
TEST = "mutation($id: ID!) { webhookTest(id: $id) { delivery { id } } }"
REDELIVER = "mutation($id: ID!) { webhookDeliveryRedeliver(deliveryId: $id) { delivery { id } } }"
LIST = "{ webhooks { id url eventTypes } }"
ONE = "query($id: ID!) { webhook(id: $id) { id url deliveries { totalCount nodes { id } } } }"


def _code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def _endpoints(services: Services, organization_id: int) -> list[Any]:
    table = WebhookEndpoint.__table__
    async with services.db.read() as conn:
        statement = select(table).where(table.c.organization_id == organization_id).order_by(table.c.id)
        return list((await conn.execute(statement)).all())


async def _delivery_count(services: Services) -> int:
    async with services.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


async def test_an_admin_creates_a_webhook_and_sees_its_secret_once(services: Services, crew: Crew) -> None:
    admin = crew.clients["admin"]
    created = await admin.run(
        CREATE,
        {"i": {"url": PUBLIC_URL, "eventTypes": ["task.created", "task.created"], "description": "CI"}},
    )
    payload = created["data"]["webhookCreate"]
    assert payload["secret"].startswith("whsec_")
    assert payload["webhook"]["eventTypes"] == ["task.created"]
    [stored] = await _endpoints(services, crew.org.organization_id)
    assert (stored.url, stored.secret, stored.created_by) == (
        PUBLIC_URL,
        payload["secret"],
        crew.ids["admin"],
    )
    assert payload["webhook"]["id"] == encode_id("Webhook", stored.id)
    # The list and the webhook itself show no secret (the schema has no such field on Webhook)
    listed = await crew.clients["owner"].run(LIST)
    assert listed["data"]["webhooks"] == [
        {"id": payload["webhook"]["id"], "url": PUBLIC_URL, "eventTypes": ["task.created"]}
    ]
    assert (
        "secret"
        not in (await admin.run('{ __type(name: "Webhook") { fields { name } } }'))["data"]["__type"][
            "fields"
        ]
    )
    # Rotating makes a new secret, shown once; other fields stay
    rotated = await admin.run(
        UPDATE, {"id": payload["webhook"]["id"], "i": {"rotateSecret": True, "active": False}}
    )
    new = rotated["data"]["webhookUpdate"]
    assert new["secret"].startswith("whsec_")
    assert new["secret"] != payload["secret"]
    assert (new["webhook"]["active"], new["webhook"]["url"]) == (False, PUBLIC_URL)
    plain = await admin.run(UPDATE, {"id": payload["webhook"]["id"], "i": {"description": "nightly"}})
    assert plain["data"]["webhookUpdate"]["secret"] is None
    [stored] = await _endpoints(services, crew.org.organization_id)
    assert (stored.secret, stored.description, stored.active) == (new["secret"], "nightly", False)
    # Deleting hides it from every read
    assert (await admin.run(DELETE, {"id": payload["webhook"]["id"]}))["data"]["webhookDelete"]["deletedId"]
    assert (await admin.run(LIST))["data"]["webhooks"] == []
    assert _code(await admin.run(ONE, {"id": payload["webhook"]["id"]})) == "NOT_FOUND"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://93.184.216.34/",
    ],
)
async def test_urls_into_our_network_are_refused_at_create_and_update(
    services: Services, crew: Crew, url: str
) -> None:
    owner = crew.clients["owner"]
    body = await owner.run(CREATE, {"i": {"url": url, "eventTypes": ["task.created"]}})
    assert _code(body) == "URL_NOT_ALLOWED"
    assert body["data"] is None
    assert await _endpoints(services, crew.org.organization_id) == []
    endpoint_id = await add_endpoint(services, crew.org, PUBLIC_URL, "s", ["task.created"])
    webhook_gid = encode_id("Webhook", endpoint_id)
    assert _code(await owner.run(UPDATE, {"id": webhook_gid, "i": {"url": url}})) == "URL_NOT_ALLOWED"
    [stored] = await _endpoints(services, crew.org.organization_id)
    assert stored.url == PUBLIC_URL


async def test_unknown_event_types_are_bad_user_input(services: Services, crew: Crew) -> None:
    owner = crew.clients["owner"]
    for types in (["task.exploded"], [], ["notification.read"]):
        body = await owner.run(CREATE, {"i": {"url": PUBLIC_URL, "eventTypes": types}})
        assert _code(body) == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["argument"] == "input.eventTypes"
    assert await _endpoints(services, crew.org.organization_id) == []


async def test_a_member_may_not_manage_webhooks_and_nothing_changes(services: Services, crew: Crew) -> None:
    endpoint_id = await add_endpoint(services, crew.org, PUBLIC_URL, "s", ["task.created"])
    webhook_gid = encode_id("Webhook", endpoint_id)
    before, deliveries = await _endpoints(services, crew.org.organization_id), await _delivery_count(services)
    member = crew.clients["author"]
    attempts: list[tuple[str, dict[str, Any] | None]] = [
        (CREATE, {"i": {"url": PUBLIC_URL, "eventTypes": ["task.created"]}}),
        (UPDATE, {"id": webhook_gid, "i": {"rotateSecret": True, "url": "https://8.8.8.8/"}}),
        (DELETE, {"id": webhook_gid}),
        (TEST, {"id": webhook_gid}),
        (REDELIVER, {"id": encode_id("WebhookDelivery", 1)}),
        (LIST, None),
        (ONE, {"id": webhook_gid}),
    ]
    for query, variables in attempts:
        assert _code(await member.run(query, variables)) == "FORBIDDEN", query
    assert await _endpoints(services, crew.org.organization_id) == before
    assert await _delivery_count(services) == deliveries


async def test_another_organizations_webhooks_are_not_found_and_nothing_changes(
    services: Services, crew: Crew
) -> None:
    endpoint_id = await add_endpoint(services, crew.org, PUBLIC_URL, "s", ["task.created"])
    async with services.db.unit_of_work() as conn:
        values: dict[str, Any] = dict(
            endpoint_id=endpoint_id, event_id=None, event_type="webhook.test", payload={}, status="dead",
            attempts=6, redeliveries=0, created_at=func.now(), updated_at=func.now(),
        )  # fmt: skip
        statement = insert(WebhookDelivery).values(**values).returning(WebhookDelivery.__table__.c.id)
        delivery_id = int((await conn.execute(statement)).scalar_one())
    webhook_gid = encode_id("Webhook", endpoint_id)
    before, deliveries = await _endpoints(services, crew.org.organization_id), await _delivery_count(services)
    # The other organization's owner
    foreigner = crew.clients["foreigner"]
    attempts: list[tuple[str, dict[str, Any] | None]] = [
        (UPDATE, {"id": webhook_gid, "i": {"rotateSecret": True}}),
        (DELETE, {"id": webhook_gid}),
        (TEST, {"id": webhook_gid}),
        (REDELIVER, {"id": encode_id("WebhookDelivery", delivery_id)}),
        (ONE, {"id": webhook_gid}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": webhook_gid}),
    ]
    for query, variables in attempts:
        assert _code(await foreigner.run(query, variables)) == "NOT_FOUND", query
    assert (await foreigner.run(LIST))["data"]["webhooks"] == []
    assert await _endpoints(services, crew.org.organization_id) == before
    assert await _delivery_count(services) == deliveries
    async with services.db.read() as conn:
        table = WebhookDelivery.__table__
        row = (await conn.execute(select(table).where(table.c.id == delivery_id))).one()
    assert (row.status, row.redeliveries) == ("dead", 0)


LOG = """query($id: ID!, $first: Int) { webhook(id: $id) { deliveries(first: $first) {
  totalCount nodes { deliveryId status attempts { number outcome responseCode } } } } }"""


async def _log_with(services: Services, crew: Crew, size: int) -> int:
    """An endpoint whose log holds ``size`` dead deliveries of two attempts each."""
    endpoint_id = await add_endpoint(services, crew.org, PUBLIC_URL, "s", ["task.created"])
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        for _ in range(size):
            values: dict[str, Any] = dict(
                endpoint_id=endpoint_id, event_id=None, event_type="webhook.test", payload={}, status="dead",
                attempts=2, redeliveries=0, created_at=now, updated_at=now,
            )  # fmt: skip
            statement = insert(WebhookDelivery).values(**values).returning(WebhookDelivery.__table__.c.id)
            delivery_id = int((await conn.execute(statement)).scalar_one())
            attempts = [
                dict(delivery_id=delivery_id, number=n, started_at=now, duration_ms=5, response_code=500,
                     outcome="http_error", error="HTTP 500")
                for n in (1, 2)
            ]  # fmt: skip
            await conn.execute(insert(WebhookAttempt), attempts)
    return endpoint_id


async def test_the_delivery_log_costs_the_same_few_statements_for_1_and_for_30(
    services: Services, crew: Crew
) -> None:
    owner = crew.clients["owner"]
    counts = []
    for size in (1, 30):
        endpoint_id = await _log_with(services, crew, size)
        body = await owner.run(LOG, {"id": encode_id("Webhook", endpoint_id), "first": 50})
        log = body["data"]["webhook"]["deliveries"]
        assert log["totalCount"] == size
        assert len(log["nodes"]) == size
        assert all([a["number"] for a in node["attempts"]] == [1, 2] for node in log["nodes"])
        counts.append(body["extensions"]["sqlStatements"])
    # The webhook, the page with its total, the attempts (the session is cached since the login)
    assert counts == [3, 3], counts
