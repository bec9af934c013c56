"""The mutations that replace the deprecated ones (webhook*V2, apiKey*V2, trustedDocumentsRegisterV2):
one `input`, expected failures as the payload's `errors` with nothing written, permission failures
still top-level; the deprecated ones keep answering as before."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from persistence.models import ApiKey, TrustedDocument, WebhookDelivery, WebhookEndpoint
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient
from tests.notification_crew import Crew, MakeOrg, make_crew
from tests.schema.test_trusted_documents import _signed_in
from tests.webhook_fixtures import add_endpoint

PUBLIC_URL = "https://93.184.216.34/hooks/taskql"
ERRORS = "errors { field code message }"
CREATE = f"""mutation($i: WebhookCreateInput!) {{ webhookCreateV2(input: $i) {{
  {ERRORS} webhook {{ id url }} secret }} }}"""
UPDATE = f"""mutation($i: WebhookUpdateV2Input!) {{ webhookUpdateV2(input: $i) {{
  {ERRORS} webhook {{ id url active }} secret }} }}"""
DELETE = f"mutation($i: WebhookIdInput!) {{ webhookDeleteV2(input: $i) {{ {ERRORS} deletedId }} }}"
TEST = f"mutation($i: WebhookIdInput!) {{ webhookTestV2(input: $i) {{ {ERRORS} delivery {{ id }} }} }}"
REDELIVER = f"""mutation($i: WebhookDeliveryRedeliverInput!) {{ webhookDeliveryRedeliverV2(input: $i) {{
  {ERRORS} delivery {{ id }} }} }}"""
KEY_CREATE = f"""mutation($i: ApiKeyCreateInput!) {{ apiKeyCreateV2(input: $i) {{
  {ERRORS} apiKey {{ id name }} key }} }}"""
KEY_REVOKE = f"""mutation($i: ApiKeyRevokeInput!) {{ apiKeyRevokeV2(input: $i) {{
  {ERRORS} apiKey {{ id revokedAt }} }} }}"""
REGISTER = f"""mutation($i: TrustedDocumentsRegisterInput!) {{ trustedDocumentsRegisterV2(input: $i) {{
  {ERRORS} registered unchanged documents {{ documentId }} }} }}"""


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


async def _count(services: Services, model: Any) -> int:
    async with services.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


def _payload(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


async def test_a_webhook_made_changed_tested_and_deleted_through_the_v2_mutations(
    services: Services, crew: Crew
) -> None:
    admin = crew.clients["admin"]
    made = _payload(
        await admin.run(CREATE, {"i": {"url": PUBLIC_URL, "eventTypes": ["task.created"]}}),
        "webhookCreateV2",
    )
    assert made["errors"] == []
    assert made["secret"].startswith("whsec_")
    webhook_id = made["webhook"]["id"]
    changed = _payload(
        await admin.run(UPDATE, {"i": {"id": webhook_id, "active": False, "rotateSecret": True}}),
        "webhookUpdateV2",
    )
    assert (changed["errors"], changed["webhook"]["active"]) == ([], False)
    assert changed["secret"] not in (None, made["secret"])
    deleted = _payload(await admin.run(DELETE, {"i": {"id": webhook_id}}), "webhookDeleteV2")
    assert deleted == {"errors": [], "deletedId": webhook_id}
    # Deleted: now it is NOT_FOUND on `id`, in the payload
    again = _payload(await admin.run(TEST, {"i": {"id": webhook_id}}), "webhookTestV2")
    assert again["delivery"] is None
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("id", "NOT_FOUND")]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"url": "http://127.0.0.1:8080/hook", "eventTypes": ["task.created"]}, "url"),
        ({"url": PUBLIC_URL, "eventTypes": ["task.exploded"]}, "eventTypes"),
        ({"url": PUBLIC_URL, "eventTypes": ["task.created"], "description": "x" * 1000}, "description"),
    ],
)
async def test_bad_webhook_input_is_invalid_on_its_field_and_nothing_is_stored(
    services: Services, crew: Crew, given: dict[str, Any], field: str
) -> None:
    before = await _count(services, WebhookEndpoint)
    payload = _payload(await crew.clients["owner"].run(CREATE, {"i": given}), "webhookCreateV2")
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]
    assert (payload["webhook"], payload["secret"]) == (None, None)
    assert await _count(services, WebhookEndpoint) == before


async def test_another_organizations_webhook_is_not_found_in_the_payload_and_nothing_changes(
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
    webhook_id = encode_id("Webhook", endpoint_id)
    deliveries = await _count(services, WebhookDelivery)
    foreigner = crew.clients["foreigner"]
    attempts = [
        (UPDATE, "webhookUpdateV2", {"id": webhook_id, "rotateSecret": True}, "id"),
        (DELETE, "webhookDeleteV2", {"id": webhook_id}, "id"),
        (TEST, "webhookTestV2", {"id": webhook_id}, "id"),
        (
            REDELIVER,
            "webhookDeliveryRedeliverV2",
            {"deliveryId": encode_id("WebhookDelivery", delivery_id)},
            "deliveryId",
        ),
    ]
    for query, name, given, field in attempts:
        payload = _payload(await foreigner.run(query, {"i": given}), name)
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "NOT_FOUND")], name
    assert await _count(services, WebhookDelivery) == deliveries
    async with services.db.read() as conn:
        table = WebhookEndpoint.__table__
        row = (await conn.execute(select(table).where(table.c.id == endpoint_id))).one()
    assert (row.secret, row.deleted_at) == ("s", None)


async def test_a_member_is_still_forbidden_top_level(services: Services, crew: Crew) -> None:
    body = await crew.clients["author"].run(
        CREATE, {"i": {"url": PUBLIC_URL, "eventTypes": ["task.created"]}}
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_the_deprecated_webhook_mutation_still_answers_with_top_level_errors(crew: Crew) -> None:
    old = "mutation($i: WebhookCreateInput!) { webhookCreate(input: $i) { webhook { id } } }"
    body = await crew.clients["owner"].run(
        old, {"i": {"url": "http://10.0.0.1/", "eventTypes": ["task.created"]}}
    )
    assert body["errors"][0]["extensions"]["code"] == "URL_NOT_ALLOWED"


async def test_api_keys_through_the_v2_mutations(services: Services, crew: Crew) -> None:
    owner = crew.clients["owner"]
    before = await _count(services, ApiKey)
    bad = _payload(await owner.run(KEY_CREATE, {"i": {"name": "", "scope": "READ"}}), "apiKeyCreateV2")
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [("name", "INVALID")]
    assert (bad["apiKey"], bad["key"]) == (None, None)
    assert await _count(services, ApiKey) == before
    made = _payload(await owner.run(KEY_CREATE, {"i": {"name": "CI", "scope": "READ"}}), "apiKeyCreateV2")
    assert made["errors"] == []
    assert made["key"]
    # Another organization's owner cannot revoke it: NOT_FOUND on id, and it stays unrevoked
    key_id = made["apiKey"]["id"]
    foreign = _payload(
        await crew.clients["foreigner"].run(KEY_REVOKE, {"i": {"id": key_id}}), "apiKeyRevokeV2"
    )
    assert [(e["field"], e["code"]) for e in foreign["errors"]] == [("id", "NOT_FOUND")]
    revoked = _payload(await owner.run(KEY_REVOKE, {"i": {"id": key_id}}), "apiKeyRevokeV2")
    assert revoked["errors"] == []
    assert revoked["apiKey"]["revokedAt"]


async def test_a_refused_manifest_is_invalid_on_manifest_and_nothing_is_stored(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    operator = await _signed_in(services, gql, await make_org(), operator=True)
    before = await _count(services, TrustedDocument)
    refused = _payload(
        await operator.run(REGISTER, {"i": {"clientName": "web", "manifest": ["not", "a", "manifest"]}}),
        "trustedDocumentsRegisterV2",
    )
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("manifest", "INVALID")]
    assert (refused["registered"], refused["documents"]) == (None, None)
    assert await _count(services, TrustedDocument) == before
    document_id = f"web-{uuid.uuid4()}"
    manifest = {document_id: f"# {uuid.uuid4()}\n{{ organization {{ id }} }}"}
    stored = _payload(
        await operator.run(REGISTER, {"i": {"clientName": "web", "manifest": manifest}}),
        "trustedDocumentsRegisterV2",
    )
    assert stored == {
        "errors": [],
        "registered": 1,
        "unchanged": 0,
        "documents": [{"documentId": document_id}],
    }
