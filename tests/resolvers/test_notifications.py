"""The viewer's notifications: the connection (pages, unread filter and counts, nobody else's rows,
a task the viewer no longer sees) and notificationMarkRead (one's own only, idempotent, replayable)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select

from persistence.models import Comment, Event
from persistence.models.base import utcnow
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient
from tests.notification_crew import Crew, MakeOrg, add_notifications, make_crew, notifications_of

LIST = """
query($first: Int, $after: String, $unreadOnly: Boolean) {
  viewer { notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    totalCount unreadCount pageInfo { hasNextPage endCursor }
    nodes { id kind read readAt createdAt task { id } actor { id } comment { id body author { id } } }
  } }
}"""
MARK = """
mutation($i: NotificationMarkReadInput!) {
  notificationMarkRead(input: $i) {
    notifications { id read readAt kind actor { id } }
    markedCount unreadCount errors { field code message }
  }
}"""


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


async def _give(services: Services, crew: Crew, name: str, count: int, **options: Any) -> list[int]:
    return await add_notifications(
        services,
        crew.org.organization_id,
        crew.ids[name],
        crew.task_id,
        crew.ids["author"],
        count,
        project_id=crew.project_id,
        **options,
    )


def _gids(ids: list[int]) -> list[str]:
    return [encode_id("Notification", i) for i in ids]


async def _list(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    result = await client.run(LIST, variables)
    assert "errors" not in result, result
    connection: dict[str, Any] = result["data"]["viewer"]["notifications"]
    return connection


async def _read_state(services: Services, user_id: int) -> list[tuple[int, Any]]:
    return [(row.id, row.read_at) for row in await notifications_of(services, user_id)]


async def _events_of(services: Services, organization_id: int) -> int:
    async with services.db.read() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(Event).where(Event.organization_id == organization_id)
        )
    return int(count or 0)


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


# --- viewer.notifications ------------------------------------------------------------------------


async def test_the_viewer_pages_through_their_notifications_newest_first(
    services: Services, crew: Crew
) -> None:
    # Given 25 notifications for the colleague, every third one read
    ids = await _give(services, crew, "colleague", 25, read_every=3)
    unread = [i for position, i in enumerate(ids) if position % 3 != 0]
    client = crew.clients["colleague"]
    # When they page through them 10 at a time
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await _list(client, first=10, after=after)
        pages += 1
        seen += [node["id"] for node in page["nodes"]]
        # Then every page counts all of them, and the unread ones
        assert (page["totalCount"], page["unreadCount"]) == (25, len(unread))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # And they saw each one once, newest first, in three pages
    assert (seen, pages) == (_gids(list(reversed(ids))), 3)


async def test_a_node_shows_its_kind_read_state_task_and_actor(services: Services, crew: Crew) -> None:
    [read, unread] = await _give(services, crew, "colleague", 2, read_every=2)
    nodes = (await _list(crew.clients["colleague"]))["nodes"]
    assert [(n["id"], n["read"], n["readAt"] is not None) for n in nodes] == [
        (encode_id("Notification", unread), False, False),
        (encode_id("Notification", read), True, True),
    ]
    for node in nodes:
        assert node["kind"] == "ASSIGNED"
        assert node["task"] == {"id": encode_id("Task", crew.task_id)}
        assert node["actor"] == {"id": encode_id("User", crew.ids["author"])}
        assert node["comment"] is None


async def test_a_mention_shows_its_comment(services: Services, crew: Crew) -> None:
    # Given a mention of the colleague in the author's comment
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        values = dict(task_id=crew.task_id, author_id=crew.ids["author"], body="hey", created_at=now)
        key = (await conn.execute(insert(Comment).values(**values, updated_at=now))).inserted_primary_key
    assert key is not None
    await _give(services, crew, "colleague", 1, comment_id=int(key[0]))
    # Then the node is a MENTIONED one carrying the comment, written by the actor
    [node] = (await _list(crew.clients["colleague"]))["nodes"]
    assert node["kind"] == "MENTIONED"
    author = {"id": encode_id("User", crew.ids["author"])}
    assert node["comment"] == {"id": encode_id("Comment", int(key[0])), "body": "hey", "author": author}
    assert node["actor"] == author


async def test_unread_only_lists_the_unread_ones(services: Services, crew: Crew) -> None:
    ids = await _give(services, crew, "colleague", 7, read_every=2)
    unread = [i for position, i in enumerate(ids) if position % 2 != 0]
    page = await _list(crew.clients["colleague"], unreadOnly=True)
    assert [node["id"] for node in page["nodes"]] == _gids(list(reversed(unread)))
    assert all(not node["read"] for node in page["nodes"])
    assert (page["totalCount"], page["unreadCount"]) == (3, 3)


async def test_nobody_sees_another_users_notifications(services: Services, crew: Crew) -> None:
    # Given notifications for the colleague only
    await _give(services, crew, "colleague", 3)
    # Then the reader (same project) and an admin of the organization list none, and count none
    for name in ("reader", "admin", "foreigner"):
        page = await _list(crew.clients[name])
        assert (page["nodes"], page["totalCount"], page["unreadCount"]) == ([], 0, 0), name


async def test_a_task_the_viewer_can_no_longer_see_reads_as_null(services: Services, crew: Crew) -> None:
    # Given a mention of the outsider (not in the task's project: say they were removed since)
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        values = dict(task_id=crew.task_id, author_id=crew.ids["author"], body="secret", created_at=now)
        key = (await conn.execute(insert(Comment).values(**values, updated_at=now))).inserted_primary_key
    assert key is not None
    await _give(services, crew, "outsider", 1, comment_id=int(key[0]))
    # Then they see that it exists and who made it, but neither the task nor the comment
    [node] = (await _list(crew.clients["outsider"]))["nodes"]
    assert (node["task"], node["comment"]) == (None, None)
    assert node["actor"] == {"id": encode_id("User", crew.ids["author"])}


async def test_after_the_last_page_the_counts_are_still_given(services: Services, crew: Crew) -> None:
    await _give(services, crew, "colleague", 2, read_every=2)
    first = await _list(crew.clients["colleague"], first=2)
    empty = await _list(crew.clients["colleague"], first=2, after=first["pageInfo"]["endCursor"])
    assert (empty["nodes"], empty["totalCount"], empty["unreadCount"]) == ([], 2, 1)


async def test_more_than_100_per_page_is_refused(crew: Crew) -> None:
    result = await crew.clients["colleague"].run(LIST, {"first": 101})
    assert (result["data"], _codes(result)) == (None, ["BAD_USER_INPUT"])


# --- notificationMarkRead -------------------------------------------------------------------------


async def test_the_viewer_marks_their_own_notifications_read(services: Services, crew: Crew) -> None:
    # Given three unread notifications
    ids = await _give(services, crew, "colleague", 3)
    events = await _events_of(services, crew.org.organization_id)
    # When the colleague marks the first two read
    result = await crew.clients["colleague"].run(MARK, {"i": {"ids": _gids(ids[:2])}})
    payload = result["data"]["notificationMarkRead"]
    # Then the payload shows them read, how many changed and what is left unread
    assert payload["errors"] == []
    assert [(n["id"], n["read"], n["kind"]) for n in payload["notifications"]] == [
        (gid, True, "ASSIGNED") for gid in _gids([ids[1], ids[0]])
    ]
    assert (payload["markedCount"], payload["unreadCount"]) == (2, 1)
    # And so does the database, and the write is in the log
    state = dict(await _read_state(services, crew.ids["colleague"]))
    assert [state[i] is not None for i in ids] == [True, True, False]
    assert await _events_of(services, crew.org.organization_id) == events + 1


async def test_marking_read_again_keeps_the_first_read_time(services: Services, crew: Crew) -> None:
    ids = await _give(services, crew, "colleague", 1)
    client = crew.clients["colleague"]
    first = (await client.run(MARK, {"i": {"ids": _gids(ids)}}))["data"]["notificationMarkRead"]
    again = (await client.run(MARK, {"i": {"ids": _gids(ids)}}))["data"]["notificationMarkRead"]
    assert again["errors"] == []
    assert again["markedCount"] == 0
    assert again["notifications"][0]["readAt"] == first["notifications"][0]["readAt"]


@pytest.mark.parametrize("who", ["reader", "foreigner"])
async def test_marking_someone_elses_notification_is_not_found_and_marks_nothing(
    services: Services, crew: Crew, who: str
) -> None:
    # Given the colleague's unread notification, and one of the caller's own
    theirs = await _give(services, crew, "colleague", 1)
    if who == "foreigner":
        other = crew.other
        own = await add_notifications(
            services,
            other.organization_id,
            crew.ids[who],
            other.task_ids[0],
            other.user_ids[0],
            1,
            project_id=other.project_ids[0],
        )
    else:
        own = await _give(services, crew, who, 1)
    before = (
        await _read_state(services, crew.ids["colleague"]),
        await _read_state(services, crew.ids[who]),
        await _events_of(services, crew.org.organization_id),
    )
    # When the caller marks both read (theirs, and the colleague's)
    result = await crew.clients[who].run(MARK, {"i": {"ids": _gids(own + theirs + [10**12])}})
    # Then the colleague's and the missing one are NOT_FOUND, and nothing at all is marked
    payload = result["data"]["notificationMarkRead"]
    assert [(e["field"], e["code"], e["message"]) for e in payload["errors"]] == [
        ("ids", "NOT_FOUND", "ids[1]: notification not found"),
        ("ids", "NOT_FOUND", "ids[2]: notification not found"),
    ]
    assert (payload["notifications"], payload["markedCount"], payload["unreadCount"]) == ([], 0, None)
    after = (
        await _read_state(services, crew.ids["colleague"]),
        await _read_state(services, crew.ids[who]),
        await _events_of(services, crew.org.organization_id),
    )
    assert after == before


async def test_marking_all_read_marks_only_the_viewers_own(services: Services, crew: Crew) -> None:
    # Given unread notifications for the colleague and for the reader
    await _give(services, crew, "colleague", 4, read_every=4)
    await _give(services, crew, "reader", 2)
    reader_before = await _read_state(services, crew.ids["reader"])
    # When the colleague marks all read
    result = await crew.clients["colleague"].run(MARK, {"i": {"all": True}})
    payload = result["data"]["notificationMarkRead"]
    # Then their three unread are read, none is left, and the reader's are untouched
    assert (payload["errors"], payload["notifications"], payload["markedCount"], payload["unreadCount"]) == (
        [],
        [],
        3,
        0,
    )
    assert all(read_at is not None for _, read_at in await _read_state(services, crew.ids["colleague"]))
    assert await _read_state(services, crew.ids["reader"]) == reader_before
    assert (await _list(crew.clients["colleague"]))["unreadCount"] == 0


@pytest.mark.parametrize(
    "given",
    [{}, {"ids": []}, {"all": False}, {"all": True, "ids": ["x"]}],
    ids=["nothing", "no-ids", "all-false", "both"],
)
async def test_naming_nothing_or_both_is_invalid(
    services: Services, crew: Crew, given: dict[str, Any]
) -> None:
    await _give(services, crew, "colleague", 1)
    if given.get("ids") == ["x"]:
        given = {**given, "ids": _gids([(await notifications_of(services, crew.ids["colleague"]))[0].id])}
    before = await _read_state(services, crew.ids["colleague"])
    result = await crew.clients["colleague"].run(MARK, {"i": given})
    errors = result["data"]["notificationMarkRead"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("ids", "INVALID")]
    assert await _read_state(services, crew.ids["colleague"]) == before


async def test_an_unauthenticated_caller_is_refused(
    services: Services, crew: Crew, gql: GraphQLClient
) -> None:
    ids = await _give(services, crew, "colleague", 1)
    before = await _read_state(services, crew.ids["colleague"])
    result = await gql.run(MARK, {"i": {"ids": _gids(ids)}})
    assert (result["data"], _codes(result)) == (None, ["UNAUTHENTICATED"])
    listed = await gql.run(LIST)
    assert (listed["data"], _codes(listed)) == (None, ["UNAUTHENTICATED"])
    assert await _read_state(services, crew.ids["colleague"]) == before


async def test_a_replay_answers_as_the_first_time_and_marks_nothing_more(
    services: Services, crew: Crew
) -> None:
    # Given "mark all read" sent with an Idempotency-Key
    await _give(services, crew, "colleague", 2)
    client = crew.clients["colleague"]
    headers = {"idempotency-key": f"mark-all-{crew.ids['colleague']}"}
    first = (await client.post(MARK, {"i": {"all": True}}, **headers)).json()
    assert first["data"]["notificationMarkRead"]["markedCount"] == 2
    # And a notification that arrives afterwards
    [late] = await _give(services, crew, "colleague", 1)
    events = await _events_of(services, crew.org.organization_id)
    # When the request is replayed, first answered from Redis, then (Redis emptied) by the database
    replay = (await client.post(MARK, {"i": {"all": True}}, **headers)).json()
    assert replay["data"] == first["data"]
    assert replay["extensions"]["sqlStatements"] == 0
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    again = (await client.post(MARK, {"i": {"all": True}}, **headers)).json()
    # Then both tell what the first did, and the late notification stays unread
    assert again["data"]["notificationMarkRead"]["markedCount"] == 2
    assert again["data"]["notificationMarkRead"]["errors"] == []
    assert dict(await _read_state(services, crew.ids["colleague"]))[late] is None
    assert await _events_of(services, crew.org.organization_id) == events


async def test_a_replay_of_named_ones_that_misses_redis_answers_as_the_first_time(
    services: Services, crew: Crew
) -> None:
    ids = await _give(services, crew, "colleague", 2)
    client = crew.clients["colleague"]
    headers = {"idempotency-key": f"mark-two-{crew.ids['colleague']}"}
    first = (await client.post(MARK, {"i": {"ids": _gids(ids)}}, **headers)).json()
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    again = (await client.post(MARK, {"i": {"ids": _gids(ids)}}, **headers)).json()
    assert again["data"] == first["data"]


NODE = """
query ($id: ID!) { node(id: $id) { id ... on Notification { kind read task { id } actor { id } } } }
"""


async def test_node_refetches_ones_own_notification_and_no_one_elses(services: Services, crew: Crew) -> None:
    # Given a notification of the colleague's
    [mine] = await _give(services, crew, "colleague", 1)
    variables = {"id": encode_id("Notification", mine)}
    # Then node(id:) gives it back to the colleague, as the connection shows it
    body = await crew.clients["colleague"].run(NODE, variables)
    assert body["data"]["node"] == {
        "id": encode_id("Notification", mine),
        "kind": "ASSIGNED",
        "read": False,
        "task": {"id": encode_id("Task", crew.task_id)},
        "actor": {"id": encode_id("User", crew.ids["author"])},
    }
    # And to anyone else, even of the same organization, it does not exist
    body = await crew.clients["author"].run(NODE, variables)
    assert body["data"] is None or body["data"]["node"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
