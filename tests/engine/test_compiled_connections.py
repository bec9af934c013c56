"""Connections on the compiled engine give the resolvers' answers: every order in both directions,
pages walked forward and backward by cursor, every filter, edges and pageInfo, and the nested lists of
a task (comments, activity, subtasks, its parent), on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from persistence.models import Label, Task
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.cursors import encode_cursor
from schema.core.ids import encode_id
from tests.conftest import PASSWORD
from tests.engine.differential import Engines, member_with_some_projects

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $order: TaskOrder, $filter: TaskFilter) {
  tasks(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
    edges { __typename cursor node { id number dueDate priority position } }
    nodes { key }
  }
}
"""

ORDERS = ["CREATED_AT", "UPDATED_AT", "DUE_DATE", "PRIORITY", "NUMBER", "POSITION"]


async def walk(engines: Engines, variables: dict[str, Any], *, backward: bool) -> list[str]:
    """Every page of the list, 7 rows at a time, by the cursors each page gives."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        asked = {**variables, ("last" if backward else "first"): 7}
        if cursor is not None:
            asked["before" if backward else "after"] = cursor
        page = (await engines.same(PAGE, asked))["data"]["tasks"]
        keys = [node["key"] for node in page["nodes"]]
        seen = keys + seen if backward else seen + keys
        info = page["pageInfo"]
        if not info["hasPreviousPage" if backward else "hasNextPage"]:
            return seen
        cursor = info["startCursor" if backward else "endCursor"]
    raise AssertionError("the pages never ended")


async def test_every_order_walks_the_same_pages_both_ways(engines: Engines, org: SeededOrganization) -> None:
    for field in ORDERS:
        for direction in ("ASC", "DESC"):
            variables = {"order": {"field": field, "direction": direction}}
            forward = await walk(engines, variables, backward=False)
            assert len(forward) == len(org.task_ids) == len(set(forward))
            assert await walk(engines, variables, backward=True) == forward


async def test_pages_between_two_cursors_and_empty_pages(engines: Engines) -> None:
    first = (await engines.same(PAGE, {"first": 10}))["data"]["tasks"]
    cursors = [edge["cursor"] for edge in first["edges"]]
    await engines.same(PAGE, {"after": cursors[1], "before": cursors[8]})
    await engines.same(PAGE, {"after": cursors[1], "before": cursors[8], "last": 3})
    await engines.same(PAGE, {"first": 0})
    await engines.same(PAGE, {"last": 0, "before": cursors[3]})
    await engines.same(PAGE, {"after": cursors[-1], "first": 100})


async def test_every_filter(services: Services, engines: Engines, org: SeededOrganization) -> None:
    async with services.db.read() as conn:
        tasks = (await conn.execute(select(Task.__table__).where(Task.id.in_(org.task_ids)))).all()
        labels = (await conn.execute(select(Label.id).where(Label.project_id.in_(org.project_ids)))).scalars()
        label_ids = [encode_id("Label", label) for label in labels]
    with_parent = next(task for task in tasks if task.parent_id is not None)
    dated = sorted(task.due_date for task in tasks if task.due_date is not None)
    filters: list[dict[str, Any]] = [
        {"projectIds": [encode_id("Project", org.project_ids[0])]},
        {"projectIds": [encode_id("Project", p) for p in org.project_ids[:2]], "status": ["TODO", "DONE"]},
        {"priority": [0, 3, 4]},
        {"assigneeIds": [encode_id("User", u) for u in org.user_ids[:3]]},
        {"labelIds": label_ids[:2]},
        {"dueBefore": dated[len(dated) // 2].isoformat()},
        {"dueAfter": dated[len(dated) // 3].isoformat(), "status": ["BACKLOG", "IN_PROGRESS", "TODO"]},
        {"parentId": encode_id("Task", with_parent.parent_id)},
        {"status": []},
    ]
    for where in filters:
        for order in ({"field": "DUE_DATE", "direction": "ASC"}, None):
            answer = await engines.same(PAGE, {"filter": where, "first": 50, "order": order})
            assert answer["data"]["tasks"]["totalCount"] >= 0
    # A value the resolvers refuse is theirs to answer.
    await engines.same(PAGE, {"filter": {"priority": [9]}}, compiled=False)
    await engines.same(PAGE, {"filter": {"projectIds": ["not an id"]}}, compiled=False)
    await engines.same(PAGE, {"after": "not a cursor"}, compiled=False)
    await engines.same(PAGE, {"first": 1, "last": 1}, compiled=False)


DETAIL = """
query Detail($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  task(id: $id) {
    key
    parent { key title parent { key } }
    subtasks { key position assignee { name } }
    comments(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id body createdAt updatedAt author { id name } } }
    }
    activity(first: 2) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id type sequence payload createdAt actor { name } __typename }
    }
  }
}
"""


async def test_a_tasks_nested_lists(engines: Engines, org: SeededOrganization) -> None:
    for task_id in org.task_ids[:10]:
        variables: dict[str, Any] = {"id": encode_id("Task", task_id)}
        answer = await engines.same(DETAIL, variables)
        comments = answer["data"]["task"]["comments"]
        if comments["edges"]:
            cursor = comments["edges"][0]["cursor"]
            await engines.same(DETAIL, {**variables, "first": 1, "after": cursor})
            await engines.same(DETAIL, {**variables, "last": 1, "before": comments["pageInfo"]["endCursor"]})
            await engines.same(DETAIL, {**variables, "last": 2})


async def test_subtasks_and_parents_in_a_list(engines: Engines) -> None:
    await engines.same(
        "{ tasks(first: 30) { nodes {"
        " key subtasks { key } parent { key } comments(last: 1) { nodes { body } } } } }"
    )


async def test_a_member_pages_only_through_their_projects(
    services: Services, org: SeededOrganization
) -> None:
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        seen = await walk(member, {}, backward=False)
        assert 0 < len(seen) < len(org.task_ids)
        await member.same(DETAIL, {"id": encode_id("Task", org.task_ids[0])})
    finally:
        await both.close()


SEARCH = """
query Search($q: String!, $first: Int, $after: String, $filter: TaskFilter) {
  searchTasks(query: $q, first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { key title } }
  }
}
"""


async def search_terms(services: Services, org: SeededOrganization) -> list[str]:
    """Words of the organization's own titles: some common, some rare."""
    async with services.db.read() as conn:
        titles = (await conn.execute(select(Task.title).where(Task.id.in_(org.task_ids)))).scalars().all()
    words = sorted({word for title in titles for word in title.split() if len(word) > 3})
    return [*words[:: max(1, len(words) // 6)], f"{words[0]} {words[-1]}"]


async def test_search_pages_agree(services: Services, engines: Engines, org: SeededOrganization) -> None:
    for term in await search_terms(services, org):
        seen: list[str] = []
        after: str | None = None
        for _ in range(20):
            page = (await engines.same(SEARCH, {"q": term, "first": 2, "after": after}))["data"][
                "searchTasks"
            ]
            seen += [edge["node"]["key"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == page["totalCount"]
        # Past the end: no row, and still the total.
        beyond = encode_cursor("search", page["totalCount"] + 3, 1)
        past = (await engines.same(SEARCH, {"q": term, "first": 2, "after": beyond}))["data"]["searchTasks"]
        assert (past["edges"], past["totalCount"]) == ([], page["totalCount"])
        where = {"projectIds": [encode_id("Project", org.project_ids[0])], "status": ["TODO", "BACKLOG"]}
        await engines.same(SEARCH, {"q": term, "first": 5, "filter": where})
    # No word at all: the resolvers' empty page; a cursor that is not a rank: their error.
    await engines.same(SEARCH, {"q": "  ?! "}, compiled=False)
    await engines.same(SEARCH, {"q": "x", "after": "nope"}, compiled=False)


@contextmanager
def _statements_sent(services: Services) -> Iterator[list[str]]:
    """Every statement the engines send meanwhile (each request counts its own: an outer counter
    would see none of them)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engines = [engine.sync_engine for engine in services.db.engines]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _matches(statements: list[str]) -> list[int]:
    """How many MATCH ... AGAINST each statement that searches holds."""
    return [count for statement in statements if (count := statement.upper().count(" AGAINST "))]


async def test_a_first_search_page_runs_the_word_search_once(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    """Each MATCH in a statement makes InnoDB run the word search over the whole index, evaluated or
    not: a first page's total needs no count of its own (no row means no match), so it has one."""
    for variables in ({"q": "zzqx nomatch", "first": 2}, {"q": "a", "first": 0}):
        answer = await engines.same(SEARCH, variables)
        assert answer["data"]["searchTasks"]["totalCount"] == 0
    term = (await search_terms(services, org))[0]
    with _statements_sent(services) as first:
        page = await engines.same(SEARCH, {"q": term, "first": 2})
    later = page["data"]["searchTasks"]["pageInfo"]["endCursor"]
    with _statements_sent(services) as second:
        await engines.same(SEARCH, {"q": term, "first": 2, "after": later})
    # The resolvers' statement and the compiled one: as many MATCH (an owner's search names its score
    # in WHERE too, which MariaDB runs as the same search).
    assert len(set(_matches(first))) == 1, _matches(first)
    # A later page keeps a count for the page past the end, which holds no row to carry the total.
    assert max(_matches(second)) > min(_matches(second))


async def test_a_member_searches_their_projects_only(services: Services, org: SeededOrganization) -> None:
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        for term in await search_terms(services, org):
            await member.same(SEARCH, {"q": term, "first": 50})
    finally:
        await both.close()


async def test_counts_and_flags_alone_and_empty_pages(engines: Engines, org: SeededOrganization) -> None:
    task = encode_id("Task", org.task_ids[0])
    for text, variables in (
        ("{ tasks(first: 2) { nodes { comments(first: 5) { totalCount } activity { totalCount } } } }", {}),
        ("{ viewer { assignedTasks(first: 2) { pageInfo { hasNextPage } } } }", {}),
        ("{ tasks(first: 0) { totalCount } }", {}),
        ("{ tasks(filter: {priority: [0], status: [DONE], projectIds: []}) { totalCount } }", {}),
        (
            "query ($id: ID!) { task(id: $id) { comments(first: 0) { pageInfo { hasNextPage } } } }",
            {"id": task},
        ),
        (
            "query ($id: ID!) { task(id: $id) { comments(first: 0) {"
            " nodes { id } totalCount pageInfo { hasNextPage startCursor } } activity(last: 0) {"
            " totalCount pageInfo { hasPreviousPage endCursor } } } }",
            {"id": task},
        ),
        (
            "{ tasks(first: 8) { nodes { "
            "comments(first: 1) { nodes { id } pageInfo { endCursor hasNextPage } } "
            "activity(last: 1) { pageInfo { startCursor } } } } }",
            {},
        ),
        ('{ searchTasks(query: "the", first: 0) { totalCount pageInfo { hasNextPage } } }', {}),
        ('{ searchTasks(query: "the") { pageInfo { hasPreviousPage } __typename } }', {}),
    ):
        await engines.same(text, variables)
