"""Every type with an id is a Node that `node(id:)` refetches; `nodes(ids:)` answers up to 100 ids in
their order, null and NOT_FOUND at the position of each one unknown or hidden, with one statement per
type at most; another organization's objects are never shown."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import insert

from persistence.enums import ReportKind
from persistence.models import Attachment, Report
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from persistence.statements import count_statements
from persistence.values import NotificationIncludes, ProjectIncludes, TaskIncludes
from resolvers.auth import authenticate_bearer
from resolvers.context import RequestContext, Services
from resolvers.nodes import READERS, NodeIncludes, read_nodes
from schema.build import build_schema
from schema.core.ids import decode_any_id, encode_id
from tests.conftest import GraphQLClient
from tests.notification_crew import MakeOrg, add_notifications
from tests.schema.test_trusted_documents import _signed_in
from tests.webhook_fixtures import add_endpoint

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
PUBLIC_URL = "https://93.184.216.34/hooks/taskql"


def _node_types() -> set[str]:
    schema = build_schema()._schema
    node = schema.get_type("Node")
    return {
        name
        for name, named in schema.type_map.items()
        if isinstance(named, GraphQLObjectType) and node in named.interfaces
    }


def test_every_type_with_an_id_is_a_node_with_a_reader() -> None:
    schema = build_schema()._schema
    with_ids = {
        name
        for name, named in schema.type_map.items()
        if isinstance(named, GraphQLObjectType) and "id" in named.fields and not name.startswith("__")
    }
    assert with_ids == _node_types()
    assert set(READERS) == _node_types()


async def _one_of_each(services: Services, gql: GraphQLClient, org: SeededOrganization) -> dict[str, str]:
    """A global id of every Node type, all of ``org``, read or made by an operator who owns it."""
    operator = await _signed_in(services, gql, org, operator=True)
    task_id, project_id = org.task_ids[0], org.project_ids[0]
    ids = {
        "Task": encode_id("Task", task_id),
        "Project": encode_id("Project", project_id),
        "User": encode_id("User", org.user_ids[0]),
        "Organization": encode_id("Organization", org.organization_id),
    }
    read = await operator.run(
        """query($t: ID!, $p: ID!) {
             task(id: $t) { comments(first: 1) { nodes { id } } activity(first: 1) { nodes { id } } }
             project(id: $p) { labels { id } } }""",
        {"t": ids["Task"], "p": ids["Project"]},
    )
    ids["Comment"] = read["data"]["task"]["comments"]["nodes"][0]["id"]
    ids["ActivityEvent"] = read["data"]["task"]["activity"]["nodes"][0]["id"]
    ids["Label"] = read["data"]["project"]["labels"][0]["id"]
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        attachment = dict(
            task_id=task_id, uploader_id=org.user_ids[0], filename="a.txt", content_type="text/plain",
            size_bytes=1, sha256="0" * 64, storage_key=uuid.uuid4().hex, created_at=now,
        )  # fmt: skip
        made = (await conn.execute(insert(Attachment).values(**attachment))).inserted_primary_key
        assert made is not None
        ids["Attachment"] = encode_id("Attachment", int(made[0]))
        report = dict(
            organization_id=org.organization_id, project_id=project_id, requested_by=org.user_ids[0],
            kind=ReportKind.STATUS, created_at=now,
        )  # fmt: skip
        made = (await conn.execute(insert(Report).values(**report))).inserted_primary_key
        assert made is not None
        ids["Report"] = encode_id("Report", int(made[0]))
    viewer = (await operator.run("{ viewer { user { id } } }"))["data"]["viewer"]["user"]["id"]
    ids["User"] = viewer
    viewer_id = decode_any_id(viewer)[1]
    [notification] = await add_notifications(
        services, org.organization_id, viewer_id, task_id, org.user_ids[0], 1, project_id=project_id
    )
    ids["Notification"] = encode_id("Notification", notification)
    endpoint_id = await add_endpoint(services, org, PUBLIC_URL, "s", ["task.created"])
    ids["Webhook"] = encode_id("Webhook", endpoint_id)
    made_by_mutations = await operator.run(
        """mutation(
             $hook: WebhookIdInput!, $doc: TrustedDocumentsRegisterInput!, $email: String!, $device: String!
           ) {
             pushDeviceRegister(input: {token: $device, platform: IOS}) { device { id } }
             webhookTestV2(input: $hook) { delivery { id } }
             apiKeyCreateV2(input: {name: "CI", scope: READ}) { apiKey { id } }
             userInvite(input: {email: $email, role: MEMBER}) { invitation { id } }
             trustedDocumentsRegisterV2(input: $doc) { documents { id } } }""",
        {
            "hook": {"id": ids["Webhook"]},
            "email": f"{uuid.uuid4().hex[:10]}@invited.test",
            "device": f"device-{uuid.uuid4().hex}",
            "doc": {
                "clientName": "web",
                "manifest": {f"web-{uuid.uuid4()}": f"# {uuid.uuid4()}\n{{ organization {{ id }} }}"},
            },
        },
    )
    made = made_by_mutations["data"]
    assert "errors" not in made_by_mutations, made_by_mutations
    ids["PushDevice"] = made["pushDeviceRegister"]["device"]["id"]
    ids["WebhookDelivery"] = made["webhookTestV2"]["delivery"]["id"]
    ids["ApiKey"] = made["apiKeyCreateV2"]["apiKey"]["id"]
    ids["Invitation"] = made["userInvite"]["invitation"]["id"]
    ids["TrustedDocument"] = made["trustedDocumentsRegisterV2"]["documents"][0]["id"]
    assert operator.token is not None
    ids["_token"] = operator.token
    return ids


@pytest.fixture
async def world(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> dict[str, Any]:
    org, other = await make_org(), await make_org()
    ids = await _one_of_each(services, gql, org)
    token = ids.pop("_token")
    other_owner = gql.as_user(await gql.login(other.owner_email))
    return {"ids": ids, "token": token, "viewer": gql.as_user(token), "foreigner": other_owner}


async def test_node_refetches_every_node_type(world: dict[str, Any]) -> None:
    ids: dict[str, str] = world["ids"]
    assert set(ids) == _node_types()
    for type_name, global_id in ids.items():
        body = await world["viewer"].run(NODE, {"id": global_id})
        assert "errors" not in body, body
        assert body["data"] == {"node": {"__typename": type_name, "id": global_id}}, type_name


async def test_nodes_answers_in_order_with_one_statement_per_type(world: dict[str, Any]) -> None:
    ids: dict[str, str] = world["ids"]
    order = sorted(ids, reverse=True)
    asked = [ids[name] for name in order]
    body = await world["viewer"].run(NODES, {"ids": asked})
    assert "errors" not in body, body
    assert body["data"] == {"nodes": [{"__typename": name, "id": ids[name]} for name in order]}
    # One statement per type (the compiled engine answers: the organization is one of them too; the
    # view counts the request's statements with count_statements and reports them)
    assert body["extensions"]["sqlStatements"] == len(ids)
    # Priced per id, as a page of as many items (each object costs 1 here)
    assert body["extensions"]["cost"]["requested"] == body["extensions"]["cost"]["actual"] == len(ids)


async def test_many_ids_of_a_type_cost_one_statement_for_that_type(
    services: Services, world: dict[str, Any]
) -> None:
    # Given the viewer's principal and ids of three types, several of each (some unknown)
    principal = await authenticate_bearer(services, world["token"])
    ctx = RequestContext(services=services, principal=principal)
    task, comment, label = (decode_any_id(world["ids"][name])[1] for name in ("Task", "Comment", "Label"))
    wanted = {"Task": [task, task + 1, 2**62], "Comment": [comment, 2**62], "Label": [label, label + 1]}
    includes = NodeIncludes(TaskIncludes(), ProjectIncludes(), NotificationIncludes())
    # When they are read
    with count_statements() as counter:
        found = await read_nodes(ctx, wanted, includes)
    # Then each type costs one statement, and the unknown ids are simply absent
    assert counter.count == 3, counter.statements
    assert task in found["Task"]
    assert 2**62 not in found["Task"]
    assert set(found["Comment"]) == {comment}


async def test_unknown_and_foreign_ids_are_null_with_not_found_at_their_position(
    world: dict[str, Any],
) -> None:
    ids: dict[str, str] = world["ids"]
    unknown = encode_id("Task", 2**62)
    asked = [ids["Task"], unknown, ids["Comment"], encode_id("Nothing", 1)]
    body = await world["viewer"].run(NODES, {"ids": asked})
    assert body["data"]["nodes"] == [
        {"__typename": "Task", "id": ids["Task"]},
        None,
        {"__typename": "Comment", "id": ids["Comment"]},
        None,
    ]
    assert sorted((e["path"], e["extensions"]["code"]) for e in body["errors"]) == [
        (["nodes", 1], "NOT_FOUND"),
        (["nodes", 3], "NOT_FOUND"),
    ]
    # Another organization's owner sees none of them, one by one or together
    foreign = await world["foreigner"].run(NODES, {"ids": list(ids.values())})
    assert foreign["data"]["nodes"] == [None] * len(ids)
    assert [e["path"] for e in foreign["errors"]] == [["nodes", i] for i in range(len(ids))]
    assert {e["extensions"]["code"] for e in foreign["errors"]} == {"NOT_FOUND"}
    for type_name, global_id in ids.items():
        single = await world["foreigner"].run(NODE, {"id": global_id})
        assert single["data"] == {"node": None}, type_name
        assert single["errors"][0]["extensions"]["code"] == "NOT_FOUND", type_name


async def test_more_than_a_hundred_ids_is_bad_user_input(world: dict[str, Any]) -> None:
    asked = [world["ids"]["Task"]] * 101
    body = await world["viewer"].run(NODES, {"ids": asked})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    hundred = await world["viewer"].run(NODES, {"ids": asked[:100]})
    assert len(hundred["data"]["nodes"]) == 100
