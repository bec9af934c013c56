"""End to end over WebSockets: a real server's relay derives notifications from real writes and
`notificationAdded` delivers them to their recipient only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from persistence.pubsub import user_channel
from resolvers.context import Services
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import GraphQLClient
from tests.notification_crew import Crew, MakeOrg, make_crew, notifications_of
from tests.schema.test_subscriptions import TRANSPORT, Server, _start_server, subscribed, wait_for_subscribers

NOTIFICATIONS = """
subscription { notificationAdded { type notification {
  id kind read readAt task { id } actor { id } comment { id body }
} } }"""
VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"
COMMENT = "mutation($i: CommentCreateInput!) { commentCreate(input: $i) { comment { id } errors { code } } }"


@pytest.fixture(scope="module")
def server(database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = _start_server(tmp_path_factory.mktemp("notify-ws"), redis_url)
    yield running
    running.stop()


async def _post(server: Server, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """A request to the server process itself, so that its own relay publishes what it commits."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    assert body.get("data"), body
    return body


async def test_a_user_is_notified_live_when_someone_assigns_or_mentions_them(
    server: Server, redis: Redis, services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    crew: Crew = await make_crew(services, gql, make_org)
    author = crew.clients["author"].token
    assert author is not None
    task_gid = encode_id("Task", crew.task_id)
    # Given the colleague and the reader, each subscribed to their notifications
    async with (
        subscribed(server, TRANSPORT, crew.clients["colleague"].token or "") as colleague,
        subscribed(server, TRANSPORT, crew.clients["reader"].token or "") as reader,
    ):
        await colleague.subscribe("c", NOTIFICATIONS)
        await reader.subscribe("r", NOTIFICATIONS)
        for name in ("colleague", "reader"):
            await wait_for_subscribers(redis, user_channel(test_services.CHANNEL_PREFIX, crew.ids[name]))
        # When the author assigns the task to the colleague, through the server
        version = (await _post(server, author, VERSION, {"id": task_gid}))["data"]["node"]["version"]
        assignee = encode_id("User", crew.ids["colleague"])
        assign = {"i": {"id": task_gid, "version": version, "assigneeId": assignee}}
        assert (await _post(server, author, ASSIGN, assign))["data"]["taskAssign"]["errors"] == []
        # Then the colleague gets it at once: the notification now stored, unread, with task and actor
        payload = await colleague.next_data("c")
        assert "errors" not in payload, payload
        event = payload["data"]["notificationAdded"]
        [stored] = await notifications_of(services, crew.ids["colleague"])
        assert event == {
            "type": "ADDED",
            "notification": {
                "id": encode_id("Notification", stored.id),
                "kind": "ASSIGNED",
                "read": False,
                "readAt": None,
                "task": {"id": task_gid},
                "actor": {"id": encode_id("User", crew.ids["author"])},
                "comment": None,
            },
        }
        # When the author mentions the colleague in a comment
        body = f"Over to you, @{crew.emails['colleague']}"
        comment = {"i": {"taskId": task_gid, "body": body}}
        written = (await _post(server, author, COMMENT, comment))["data"]["commentCreate"]
        # Then the colleague gets the mention with its comment
        mention = (await colleague.next_data("c"))["data"]["notificationAdded"]["notification"]
        assert (mention["kind"], mention["comment"]) == (
            "MENTIONED",
            {"id": written["comment"]["id"], "body": body},
        )
        # And the reader, who was neither assigned nor mentioned, got nothing
        await reader.nothing()
