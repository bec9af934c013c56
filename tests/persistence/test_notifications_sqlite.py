"""The embedded default runs notifications too: on SQLite (and the in-process Redis) the relay derives
them once, the connection lists them and marking them read works, with SQLite's own statements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from persistence.models import Event
from resolvers.context import Services
from schema.app import create_app
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient, embedded_services, org_maker
from tests.notification_crew import last_event_id, make_crew, notifications_of_events, until_published

LIST = "{ viewer { notifications { totalCount unreadCount nodes { kind task { id } comment { body } } } } }"
VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"
COMMENT = "mutation($i: CommentCreateInput!) { commentCreate(input: $i) { errors { code } } }"
MARK_ALL = "mutation { notificationMarkRead(input: {all: true}) { markedCount unreadCount errors { code } } }"


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[tuple[Services, GraphQLClient]]:
    async with embedded_services(tmp_path / "embedded.db", "embedded") as services:
        await services.relay.start()
        transport = httpx.ASGITransport(app=create_app(services=services), client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
            yield services, GraphQLClient(http)
        await services.relay.stop()


async def test_notifications_work_on_sqlite(embedded: tuple[Services, GraphQLClient]) -> None:
    services, gql = embedded

    crew = await make_crew(services, gql, org_maker(services))
    task_gid, author = encode_id("Task", crew.task_id), crew.clients["author"]
    # Given an assignment and a mention of the colleague (and of the outsider, who cannot see the task)
    version = (await author.run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assign = {"id": task_gid, "version": version, "assigneeId": encode_id("User", crew.ids["colleague"])}
    assert (await author.run(ASSIGN, {"i": assign}))["data"]["taskAssign"]["errors"] == []
    assigned = await last_event_id(services, crew.task_id)
    body = f"@{crew.emails['colleague']} @{crew.emails['outsider']} look"
    assert (await author.run(COMMENT, {"i": {"taskId": task_gid, "body": body}}))["data"]["commentCreate"][
        "errors"
    ] == []
    mentioned = await last_event_id(services, crew.task_id)
    for event_id in (assigned, mentioned):
        await until_published(services, event_id)
    # When both events are published again (the unique key must keep the second derivation out)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Event).where(Event.id.in_([assigned, mentioned])).values(published_at=None))
    assert await services.relay.publish([assigned, mentioned]) == 2
    # Then the colleague has exactly the two notifications, and the outsider none
    rows = await notifications_of_events(services, [assigned, mentioned])
    assert [(row.user_id, row.kind) for row in rows] == [
        (crew.ids["colleague"], "assigned"),
        (crew.ids["colleague"], "mentioned"),
    ]
    listed: dict[str, Any] = (await crew.clients["colleague"].run(LIST))["data"]["viewer"]["notifications"]
    assert (listed["totalCount"], listed["unreadCount"]) == (2, 2)
    assert [node["kind"] for node in listed["nodes"]] == ["MENTIONED", "ASSIGNED"]
    assert listed["nodes"][0]["comment"] == {"body": body}
    # And marking all read marks both
    marked = (await crew.clients["colleague"].run(MARK_ALL))["data"]["notificationMarkRead"]
    assert marked == {"markedCount": 2, "unreadCount": 0, "errors": []}
