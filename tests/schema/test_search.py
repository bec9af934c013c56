"""searchTasks on MariaDB FULLTEXT: ranking, titles and descriptions, paging, filters, counts, and the
two things FULLTEXT does differently from a LIKE (committed rows only; no words under 3 letters)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.models import ProjectMember, Task, User
from persistence.seed import SeedSizes
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, GraphQLClient

BARE = SeedSizes(users=3, projects=2, tasks=0, comments_per_task=0.0, members_per_project=2)
NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
SEARCH = """
query($q: String!, $first: Int, $after: String, $f: TaskFilter) {
  searchTasks(query: $q, first: $first, after: $after, filter: $f) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    nodes { id title description status }
  }
}"""


def unique_word() -> str:
    """A word no other row has: letters only, so FULLTEXT reads it as one token."""
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


@dataclass
class SearchOrg:
    client: GraphQLClient
    services: Services
    organization_id: int
    project_ids: list[int]
    user_ids: list[int]
    numbers: int = 0

    def task_values(self, title: str, description: str = "", **overrides: Any) -> dict[str, Any]:
        self.numbers += 1
        values: dict[str, Any] = {
            "organization_id": self.organization_id,
            "project_id": self.project_ids[0],
            "number": self.numbers,
            "title": title,
            "description": description,
            "status": TaskStatus.TODO,
            "priority": 2,
            "position": float(self.numbers),
            "assignee_id": None,
            "reporter_id": self.user_ids[0],
            "version": 1,
            "created_at": NOW - timedelta(minutes=self.numbers),
            "updated_at": NOW,
        }
        values.update(overrides)
        return values

    async def add(self, title: str, description: str = "", **overrides: Any) -> str:
        """Inserts and commits one task; its global id."""
        async with self.services.db.unit_of_work() as conn:
            return await self.add_in(conn, title, description, **overrides)

    async def add_in(self, conn: AsyncConnection, title: str, description: str = "", **overrides: Any) -> str:
        key = (
            await conn.execute(insert(Task).values(**self.task_values(title, description, **overrides)))
        ).inserted_primary_key
        assert key is not None
        return encode_id("Task", int(key[0]))

    async def search(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.client.run(SEARCH, {"q": query, **variables})
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["searchTasks"]
        return result


@pytest.fixture
async def org(gql: GraphQLClient, make_org: Any, services: Services) -> SearchOrg:
    """A fresh organization with no tasks; each test inserts its own, with words nobody else uses."""
    seeded = await make_org(BARE)
    client = gql.as_user(await gql.login(seeded.owner_email, PASSWORD))
    return SearchOrg(client, services, seeded.organization_id, seeded.project_ids, seeded.user_ids)


def ids(result: dict[str, Any]) -> list[str]:
    return [node["id"] for node in result["nodes"]]


async def test_a_task_that_says_the_word_more_often_ranks_higher(org: SearchOrg) -> None:
    # Given tasks that carry the word three times, in title and description, and once
    word = unique_word()
    once_in_title = await org.add(f"Check {word} settings", "nothing else here")
    both = await org.add(f"Repair {word} parser", f"the {word} parser drops the {word} header")
    once_in_description = await org.add("Unrelated title", f"mentions {word} in passing")
    await org.add("No match", "none of it")
    # When the word is searched for
    result = await org.search(word)
    # Then the one that says it most comes first, and each that says it is found once
    assert ids(result)[0] == both
    assert sorted(ids(result)[1:]) == sorted([once_in_title, once_in_description])
    assert result["totalCount"] == 3


async def test_words_are_found_in_titles_and_descriptions_of_the_viewers_organization_only(
    org: SearchOrg, make_org: Any
) -> None:
    # Given one word only in a title, another only in a description, a deleted task, and another
    # organization's task with both words
    in_title, in_description = unique_word(), unique_word()
    titled = await org.add(f"Ship the {in_title}", "plain words")
    described = await org.add("Plain title", f"Remember the {in_description}.")
    await org.add(f"Deleted {in_title}", f"{in_description}", deleted_at=NOW)
    stranger = await make_org(BARE)
    async with org.services.db.unit_of_work() as conn:
        await conn.execute(
            insert(Task).values(
                **org.task_values(
                    f"{in_title} {in_description}",
                    organization_id=stranger.organization_id,
                    project_id=stranger.project_ids[0],
                    reporter_id=stranger.user_ids[0],
                )
            )
        )
    # When each is searched for, in any case, and both together
    # Then each finds its own task, and both together find both (any word matches)
    assert ids(await org.search(in_title)) == [titled]
    assert ids(await org.search(in_description.upper())) == [described]
    both = await org.search(f"{in_title} {in_description}")
    assert sorted(ids(both)) == sorted([titled, described])
    assert both["totalCount"] == 2


async def test_search_pages_with_after_cursors_without_repeats(org: SearchOrg) -> None:
    # Given 11 matches whose scores tie in groups
    word = unique_word()
    expected = {await org.add(f"{word} {i}", " ".join([word] * (i % 3))) for i in range(11)}
    whole = await org.search(word, first=100)
    # When they are read 4 at a time, each page after the last one's end cursor
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await org.search(word, first=4, after=after)
        # Then every page counts all matches and says whether more follow
        assert page["totalCount"] == 11
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 0)
        seen += ids(page)
        pages += 1
        assert page["pageInfo"]["hasNextPage"] is (len(seen) < 11)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # And every match came once, in the order of the one-page answer, best first
    assert pages == 3
    assert seen == ids(whole)
    assert set(seen) == expected
    assert len(whole["nodes"][0]["description"].split()) == 2
    # And past the end the page is empty, with the count kept
    beyond = await org.search(word, first=4, after=page["pageInfo"]["endCursor"])
    assert (ids(beyond), beyond["totalCount"], beyond["pageInfo"]["hasNextPage"]) == ([], 11, False)


async def test_a_member_finds_the_same_ranking_within_its_own_projects(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """A member's matches are read through its projects, an owner's through the FULLTEXT index
    (persistence/queries/search.py): both rank alike."""
    # Given an organization with a member of its first project only
    seeded = await make_org(
        SeedSizes(users=4, projects=2, tasks=0, comments_per_task=0.0, members_per_project=0)
    )
    owner = SearchOrg(
        gql.as_user(await gql.login(seeded.owner_email)),
        services,
        seeded.organization_id,
        seeded.project_ids,
        seeded.user_ids,
    )
    async with services.db.unit_of_work() as conn:
        member_id, email = (
            await conn.execute(
                select(User.id, User.email).where(
                    User.organization_id == seeded.organization_id, User.role == OrgRole.MEMBER
                )
            )
        ).one()
        await conn.execute(
            insert(ProjectMember).values(
                project_id=seeded.project_ids[0], user_id=member_id, role=ProjectRole.EDITOR, created_at=NOW
            )
        )
    member = SearchOrg(gql.as_user(await gql.login(email)), services, seeded.organization_id, [], [])
    # And matches of varying strength in both projects, the strongest of the first project's alone
    word = unique_word()
    strength = [1, 3, 3, 2, 1, 2, 2]
    made = [
        (await owner.add(f"{word} {i}", " ".join([word] * n), project_id=seeded.project_ids[i % 2]), i % 2)
        for i, n in enumerate(strength)
    ]
    # When the owner and the member search for the word, the member a page at a time
    everything = await owner.search(word, first=50)
    first = await member.search(word, first=2)
    rest = await member.search(word, first=50, after=first["pageInfo"]["endCursor"])
    # Then the member finds its project's matches only, in the owner's order, and counts them
    own = {task_id for task_id, project in made if project == 0}
    assert ids(first) + ids(rest) == [task_id for task_id in ids(everything) if task_id in own]
    assert (first["totalCount"], rest["totalCount"], everything["totalCount"]) == (4, 4, 7)
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
    # And the strongest of its matches comes first
    assert ids(first)[0] == made[2][0]


async def test_search_respects_filters_and_counts_what_they_leave(org: SearchOrg) -> None:
    # Given matches across statuses, priorities and both projects
    word = unique_word()
    made: list[tuple[str, TaskStatus, int, int]] = []
    for i in range(12):
        status = [TaskStatus.TODO, TaskStatus.DONE, TaskStatus.IN_PROGRESS][i % 3]
        priority, project = i % 5, org.project_ids[i % 2]
        task_id = await org.add(f"{word} task", "", status=status, priority=priority, project_id=project)
        made.append((task_id, status, priority, project))
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"status": ["TODO", "DONE"]}, {t for t, s, _, _ in made if s in (TaskStatus.TODO, TaskStatus.DONE)}),
        ({"priority": [0, 1]}, {t for t, _, p, _ in made if p in (0, 1)}),
        (
            {"projectIds": [encode_id("Project", org.project_ids[1])]},
            {t for t, *_, pr in made if pr == org.project_ids[1]},
        ),
        (
            {"status": ["IN_PROGRESS"], "projectIds": [encode_id("Project", org.project_ids[0])]},
            {t for t, s, _, pr in made if s is TaskStatus.IN_PROGRESS and pr == org.project_ids[0]},
        ),
        ({"status": ["CANCELED"]}, set()),
    ]
    for task_filter, expected in cases:
        # When the search is filtered
        result = await org.search(word, first=50, f=task_filter)
        # Then only the tasks the filter keeps are found, and counted
        assert set(ids(result)) == expected, task_filter
        assert result["totalCount"] == len(expected), task_filter


async def test_fulltext_sees_only_committed_rows(org: SearchOrg) -> None:
    """MariaDB (InnoDB) indexes a row for FULLTEXT when its transaction commits: not even the inserting
    transaction's own MATCH sees it before then, though a plain SELECT does. Tests that search must
    therefore commit their rows; a rollback-per-test fixture could not serve them."""
    word = unique_word()
    match = text(
        "SELECT COUNT(*) FROM tasks WHERE organization_id = :o AND MATCH(title, description) AGAINST (:w)"
    )
    params = {"o": org.organization_id, "w": word}
    # Given a task with a new word, inserted in a transaction not yet committed
    async with org.services.db.unit_of_work() as conn:
        task_id = await org.add_in(conn, f"Draft {word}")
        # When the same transaction looks for it, plainly and by FULLTEXT, and the API searches
        plain = (
            await conn.execute(select(func.count()).select_from(Task).where(Task.title.like(f"%{word}%")))
        ).scalar_one()
        by_fulltext = (await conn.execute(match, params)).scalar_one()
        from_the_api = await org.search(word)
        # Then only the plain SELECT sees it
        assert (plain, by_fulltext, from_the_api["totalCount"]) == (1, 0, 0)
    # And once committed, FULLTEXT and the API find it
    async with org.services.db.read() as conn:
        assert (await conn.execute(match, params)).scalar_one() == 1
    assert ids(await org.search(word)) == [task_id]


async def test_fulltext_ignores_words_under_three_letters(org: SearchOrg) -> None:
    """InnoDB indexes tokens of innodb_ft_min_token_size (3) letters and more: a two-letter word is in
    the row but not in the index, so searching for it finds nothing."""
    async with org.services.db.read() as conn:
        min_size = (await conn.execute(text("SELECT @@innodb_ft_min_token_size"))).scalar_one()
    assert min_size == 3
    # Given a task whose title has a two-letter and a three-letter word nobody else uses
    three = unique_word()[:3]
    task_id = await org.add(f"xq {three} {unique_word()}", "")
    # When each is searched for
    two_letters = await org.search("xq")
    three_letters = await org.search(three)
    # Then the two-letter word finds nothing, the three-letter word finds the task
    assert (ids(two_letters), two_letters["totalCount"]) == ([], 0)
    assert task_id in ids(three_letters)


async def test_text_without_words_finds_nothing(org: SearchOrg) -> None:
    # Given a task in the organization
    word = unique_word()
    await org.add(f"{word} ready", "")
    # When the search text has no word characters at all, or only syntax around a word
    empty = await org.search("*** +-<>()~ \"'")
    wrapped = await org.search(f'+"{word}*"')
    # Then punctuation alone finds nothing, and syntax around a word is ignored
    assert (ids(empty), empty["totalCount"]) == ([], 0)
    assert wrapped["totalCount"] == 1
