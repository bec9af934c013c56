"""node(id:) on the compiled engine for what hangs off tasks and projects (Comment, Attachment,
ActivityEvent, Label) gives the resolvers' answers, on MariaDB: every field, for an owner and for a
member who sees some projects only; a deleted comment, a hidden project's label and another
organization's objects are NOT_FOUND on both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from persistence.models import (
    ApiKey,
    Attachment,
    Comment,
    Event,
    Invitation,
    Label,
    ProjectMember,
    PushDevice,
    Report,
    Task,
    TrustedDocument,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import decode_any_id, encode_id
from tests.conftest import PASSWORD, SMALL
from tests.engine.differential import Engines, member_with_some_projects
from tests.notification_crew import add_notifications
from tests.webhook_fixtures import add_endpoint

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Comment { body createdAt updatedAt author { id name email role } }
    ... on Attachment { filename contentType sizeBytes sha256 createdAt downloadUrl }
    ... on ActivityEvent { type sequence payload createdAt actor { id name } }
    ... on Label { name color }
  }
}
"""


async def _objects(services: Services, org: SeededOrganization) -> dict[str, list[int]]:
    """Of the organization: comments (the first one deleted), an attachment, task events, labels."""
    task_id = org.task_ids[0]
    async with services.db.unit_of_work() as conn:
        attachment = dict(
            task_id=task_id, uploader_id=org.user_ids[0], filename="plan ✓.pdf",
            content_type="application/pdf", size_bytes=12, sha256="a" * 64, storage_key=f"k{task_id}",
            created_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        )  # fmt: skip
        await conn.execute(insert(Attachment).values(**attachment))
        comments = list(
            (await conn.execute(select(Comment.id).where(Comment.task_id.in_(org.task_ids)))).scalars()
        )
        await conn.execute(
            update(Comment).where(Comment.id == comments[0]).values(deleted_at=datetime.now(UTC))
        )
        found = {
            "Comment": comments[:6],
            "Attachment": list(
                (await conn.execute(select(Attachment.id).where(Attachment.task_id == task_id))).scalars()
            ),
            "ActivityEvent": list(
                (
                    await conn.execute(
                        select(Event.id).where(Event.task_id.in_(org.task_ids)).order_by(Event.id).limit(6)
                    )
                ).scalars()
            ),
            "Label": list(
                (await conn.execute(select(Label.id).where(Label.project_id.in_(org.project_ids)))).scalars()
            ),
        }
    return found


async def _compare_all(engines: Engines, objects: dict[str, list[int]]) -> list[dict[str, Any]]:
    answers = []
    for type_name, ids in objects.items():
        assert ids, type_name
        for database_id in ids:
            answers.append(await engines.same(NODE, {"id": encode_id(type_name, database_id)}))
    return answers


async def test_an_owner_reads_each_type_as_the_resolvers_do(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    objects = await _objects(services, org)
    answers = await _compare_all(engines, objects)
    # The deleted comment reads as missing; every other object is there
    deleted = encode_id("Comment", objects["Comment"][0])
    missing = [a for a in answers if a["data"]["node"] is None]
    assert len(missing) == 1
    assert missing[0]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert deleted not in {a["data"]["node"]["id"] for a in answers if a["data"]["node"]}


async def test_a_member_and_a_stranger_see_what_the_resolvers_show_them(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    objects = await _objects(services, org)
    # A member who sees some projects only: the others' comments, events and labels are NOT_FOUND
    member = await member_with_some_projects(services, org)
    async with services.db.read() as conn:
        seen = set(
            (await conn.execute(select(ProjectMember.project_id).where(ProjectMember.user_id == member)))
            .scalars()
            .all()
        )
    as_member = await engines.as_user(services, member, PASSWORD)
    member_answers = await _compare_all(as_member, objects)
    assert any(a["data"]["node"] is None for a in member_answers)
    assert seen
    # Another organization's owner sees none of them
    other = await make_org(SMALL)
    stranger = await engines.as_user(services, other.user_ids[0], PASSWORD)
    for answer in await _compare_all(stranger, objects):
        assert answer["data"] == {"node": None}
        assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


NODES = NODE.replace("query Node($id: ID!)", "query Nodes($ids: [ID!]!)").replace(
    "node(id: $id)", "nodes(ids: $ids)"
)
NODES_OF_EVERY_COMPILED_TYPE = """
query Mixed($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Task {
      key title status project { key } labels { name } comments(first: 2) { totalCount nodes { body } }
    }
    ... on Project { key name openTaskCount }
    ... on User { name email }
    ... on Organization { slug name }
    ... on Comment { body author { name } }
    ... on Label { name color }
  }
}
"""


async def test_nodes_of_mixed_types_in_their_order_with_one_statement_per_type(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    objects = await _objects(services, org)
    other = await make_org(SMALL)
    ids = [
        encode_id("Comment", objects["Comment"][1]),
        encode_id("Task", org.task_ids[3]),
        encode_id("Label", objects["Label"][0]),
        encode_id("Task", other.task_ids[0]),  # another organization's: NOT_FOUND at 3
        encode_id("Organization", org.organization_id),
        encode_id("Project", org.project_ids[0]),
        encode_id("Task", org.task_ids[4]),
        encode_id("User", org.user_ids[1]),
        encode_id("Comment", objects["Comment"][0]),  # deleted: NOT_FOUND at 8
        encode_id("Task", org.task_ids[3]),  # again
    ]
    answer = await engines.same(NODES_OF_EVERY_COMPILED_TYPE, {"ids": ids})
    nodes = answer["data"]["nodes"]
    assert [node and node["id"] for node in nodes] == [
        None if position in (3, 8) else global_id for position, global_id in enumerate(ids)
    ]
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["nodes", 3], "NOT_FOUND"),
        (["nodes", 8], "NOT_FOUND"),
    ]
    # Six types: six statements, whatever the number of ids of each
    compiled = await engines.compiled.run(NODES_OF_EVERY_COMPILED_TYPE, {"ids": ids})
    assert compiled["extensions"]["sqlStatements"] == 6


async def test_nodes_the_compiler_cannot_answer_run_on_the_resolvers(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    objects = await _objects(services, org)
    # Every type of the four, together, compiled
    every = [encode_id(t, ids[-1]) for t, ids in objects.items()]
    await engines.same(NODES, {"ids": every})
    # An id of a type whose selection here is not compiled (a report's links), of no type at all,
    # more than 100 ids, a malformed one: the resolvers answer
    with_links = NODES.replace(
        "... on Label { name color }", "... on Label { name color } ... on Report { csvUrl }"
    )
    await engines.same(with_links, {"ids": every})
    await engines.same(with_links, {"ids": [*every, encode_id("Report", 1)]}, compiled=False)
    await engines.same(NODES, {"ids": [*every, encode_id("Nothing", 1)]}, compiled=False)
    for ids in ([every[0]] * 101, ["not an id"]):
        await engines.same(NODES, {"ids": ids}, compiled=False)
    assert (await engines.same(NODES, {"ids": []}, compiled=True))["data"] == {"nodes": []}


OWNED = """
query Owned($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on PushDevice { platform createdAt lastSeenAt }
    ... on Invitation { email role invitationExpiresAt: expiresAt }
    ... on ApiKey { name prefix scope createdById expiresAt revokedAt createdAt }
    ... on Webhook { url eventTypes active description createdAt updatedAt }
  }
}
"""


def _api_key(org: SeededOrganization, number: int, at: datetime) -> dict[str, Any]:
    """The owner's key: the first READ and expiring, the second READ_WRITE and revoked."""
    return dict(
        organization_id=org.organization_id, created_by_user_id=org.user_ids[0], name=f"CI {number}",
        prefix=f"p{org.organization_id}x{number}", secret_hash="0" * 64,
        scope="read_write" if number else "read", expires_at=None if number else at,
        revoked_at=at if number else None, created_at=at,
    )  # fmt: skip


OWNED_ONE = OWNED.replace("query Owned($ids: [ID!]!)", "query OwnedOne($id: ID!)").replace(
    "nodes(ids: $ids)", "node(id: $id)"
)


async def _owned(services: Services, org: SeededOrganization) -> list[str]:
    """The owner's push device, and an invitation, two API keys and a webhook of the organization."""
    owner, at = org.user_ids[0], datetime(2026, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    device = dict(
        user_id=owner, organization_id=org.organization_id, token=f"device-{org.organization_id}",
        platform="ios", created_at=at, last_seen_at=at,
    )  # fmt: skip
    invitation = dict(
        organization_id=org.organization_id, email="zoë@invited.test", role="admin",
        token_hash=f"{org.organization_id:064d}", invited_by_id=owner, created_at=at, expires_at=at,
    )  # fmt: skip
    rows: list[tuple[str, Any, dict[str, Any]]] = [
        ("PushDevice", PushDevice, device),
        ("Invitation", Invitation, invitation),
        ("ApiKey", ApiKey, _api_key(org, 0, at)),
        ("ApiKey", ApiKey, _api_key(org, 1, at)),
    ]
    made: list[str] = []
    async with services.db.unit_of_work() as conn:
        for type_name, model, values in rows:
            key = (await conn.execute(insert(model).values(**values))).inserted_primary_key
            assert key is not None
            made.append(encode_id(type_name, int(key[0])))
    webhook = await add_endpoint(
        services, org, "https://93.184.216.34/h", "s", ["task.created", "task.moved"]
    )
    return [*made, encode_id("Webhook", webhook)]


async def test_devices_keys_and_invitations_as_the_resolvers_show_them(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    ids = await _owned(services, org)
    # The owner sees them all, on both engines
    mine = await engines.same(OWNED, {"ids": ids})
    assert [node["id"] for node in mine["data"]["nodes"]] == ids
    for global_id in ids:
        one = await engines.same(OWNED_ONE, {"id": global_id})
        assert one["data"]["node"]["id"] == global_id
    # A deleted webhook is NOT_FOUND on both
    async with services.db.unit_of_work() as conn:
        deleted = update(WebhookEndpoint).where(WebhookEndpoint.organization_id == org.organization_id)
        await conn.execute(deleted.values(deleted_at=datetime.now(UTC)))
    gone = await engines.same(OWNED, {"ids": ids})
    assert gone["data"]["nodes"][-1] is None
    # A member sees none: not their device, and keys and invitations are for owners and admins
    member = await engines.as_user(services, await member_with_some_projects(services, org), PASSWORD)
    theirs = await member.same(OWNED, {"ids": ids})
    assert theirs["data"]["nodes"] == [None] * len(ids)
    # Nor does another organization's owner
    stranger = await engines.as_user(services, (await make_org(SMALL)).user_ids[0], PASSWORD)
    assert (await stranger.same(OWNED, {"ids": ids}))["data"]["nodes"] == [None] * len(ids)


NOTIFICATIONS = """
query Notifications($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Notification { kind createdAt readAt read task { key title } actor { name email } }
  }
}
"""


async def test_notifications_as_the_resolvers_show_them(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    # The owner's notifications about two tasks, every other one read; then one task is deleted
    owner, actor = org.user_ids[0], org.user_ids[1]
    project_id = org.project_ids[0]
    kept = await add_notifications(
        services, org.organization_id, owner, org.task_ids[5], actor, 3, project_id=project_id, read_every=2
    )
    gone = await add_notifications(
        services, org.organization_id, owner, org.task_ids[6], actor, 1, project_id=project_id
    )
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            update(Task).where(Task.id == org.task_ids[6]).values(deleted_at=datetime.now(UTC))
        )
    ids = [encode_id("Notification", n) for n in [*kept, *gone]]
    mine = await engines.same(NOTIFICATIONS, {"ids": ids})
    nodes = mine["data"]["nodes"]
    assert [node["read"] for node in nodes] == [True, False, True, False]
    # The deleted task is no longer shown; the notification still is
    assert nodes[-1]["task"] is None
    assert nodes[0]["task"] is not None
    # Someone else's notifications read as missing
    member = await engines.as_user(services, await member_with_some_projects(services, org), PASSWORD)
    assert (await member.same(NOTIFICATIONS, {"ids": ids}))["data"]["nodes"] == [None] * len(ids)


OPERATIONS = """
query Operations($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Report {
      kind reportStatus: status builds: attempts error createdAt finishedAt project { key name }
      requestedBy { name }
    }
    ... on WebhookDelivery {
      deliveryId eventType eventId status attemptCount lastResponseCode createdAt updatedAt
      attempts { number startedAt durationMs responseCode outcome error }
    }
    ... on TrustedDocument { documentId sha256 name clientName operationType cost }
  }
}
"""


async def _operations(services: Services, org: SeededOrganization) -> list[str]:
    """A report (succeeded), two deliveries of a webhook (one a test ping with two attempts, one of
    an event with none) and a trusted document."""
    at = datetime(2026, 7, 8, 9, 10, 11, 250000, tzinfo=UTC)
    endpoint = await add_endpoint(services, org, "https://93.184.216.34/h", "s", ["task.created"])
    async with services.db.unit_of_work() as conn:
        event = (
            await conn.execute(select(Event.id).where(Event.organization_id == org.organization_id).limit(1))
        ).scalar_one()
        report = dict(
            organization_id=org.organization_id, project_id=org.project_ids[1], requested_by=org.user_ids[2],
            kind="status", status="succeeded", attempts=1, storage_key="k", created_at=at, finished_at=at,
        )  # fmt: skip
        ping: dict[str, Any] = dict(
            endpoint_id=endpoint, event_id=None, event_type="webhook.test", payload={}, status="dead",
            attempts=2, last_response_code=500, redeliveries=0, created_at=at, updated_at=at,
        )  # fmt: skip
        change = {**ping, "event_id": event, "event_type": "task.created", "status": "pending", "attempts": 0}
        document = dict(
            document_id=f"web-{org.organization_id}", sha256=f"{org.organization_id:064x}", name=None,
            client_name="web", operation_type="query", body="{ viewer { user { id } } }", cost=2,
        )  # fmt: skip
        made: list[str] = []
        for type_name, model, values in (
            ("Report", Report, report),
            ("WebhookDelivery", WebhookDelivery, ping),
            ("WebhookDelivery", WebhookDelivery, change),
            ("TrustedDocument", TrustedDocument, document),
        ):
            key = (await conn.execute(insert(model).values(**values))).inserted_primary_key
            assert key is not None
            made.append(encode_id(type_name, int(key[0])))
        ping_id = decode_any_id(made[1])[1]
        for number, outcome in ((1, "http_error"), (2, "timeout")):
            attempt = dict(
                delivery_id=ping_id, number=number, started_at=at, duration_ms=120 * number,
                response_code=500 if number == 1 else None, outcome=outcome,
                error=None if number == 1 else "read timed out",
            )  # fmt: skip
            await conn.execute(insert(WebhookAttempt).values(**attempt))
    return made


async def test_reports_deliveries_and_documents_as_the_resolvers_show_them(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    ids = await _operations(services, org)
    # The owner sees the report and the deliveries; the document is for operators only
    owner = await engines.same(OPERATIONS, {"ids": ids})
    nodes = owner["data"]["nodes"]
    assert [node and node["__typename"] for node in nodes] == [
        "Report", "WebhookDelivery", "WebhookDelivery", None,
    ]  # fmt: skip
    assert [a["outcome"] for a in nodes[1]["attempts"]] == ["HTTP_ERROR", "TIMEOUT"]
    assert (nodes[1]["eventId"], nodes[2]["attempts"]) == (None, [])
    # An operator of the organization sees the document too
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == org.user_ids[0]).values(is_operator=True))
    operator = await engines.as_user(services, org.user_ids[0], PASSWORD)
    assert all((await operator.same(OPERATIONS, {"ids": ids}))["data"]["nodes"])
    # A report's download links run on the resolvers
    links = "query($id: ID!) { node(id: $id) { ... on Report { csvUrl htmlUrl } } }"
    await engines.same(links, {"id": ids[0]}, compiled=False)
    # A member who does not see the report's project, nor webhooks
    member = await engines.as_user(services, await member_with_some_projects(services, org), PASSWORD)
    await member.same(OPERATIONS, {"ids": ids})
