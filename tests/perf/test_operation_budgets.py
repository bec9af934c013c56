"""The seed's budget: every operation in perf/operations sends at most 4 statements with every cache
cold and at most 3 with the session cached, and the same number for 1 item as for 100."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from resolvers.context import Services
from schema.ids import encode_id
from tests.conftest import PASSWORD, GraphQLClient
from tests.factories import FilledOrg, filled_org

OPERATIONS = Path(__file__).resolve().parents[2] / "perf" / "operations"


def _variables(name: str, org: FilledOrg, n: int) -> dict[str, Any]:
    by_operation: dict[str, dict[str, Any]] = {
        "dashboard": {"first": n},
        "board": {"projectId": encode_id("Project", org.project_ids[0]), "first": n},
        "task_detail": {"taskId": encode_id("Task", org.detail_task_id), "first": min(n, 20)},
        "search": {"query": "zebra", "first": n},
        "user_page": {"userId": encode_id("User", org.viewer_id), "first": n},
    }
    return by_operation[name]


def _listed(name: str, data: dict[str, Any]) -> list[int]:
    """How many items each list of the operation returned (asserted against n)."""
    if name == "dashboard":
        viewer = data["viewer"]
        return [len(viewer["projects"]["nodes"]), len(viewer["assignedTasks"]["nodes"])]
    if name == "board":
        return [len(data["project"]["tasks"]["nodes"])]
    if name == "task_detail":
        task = data["task"]
        return [len(task["subtasks"]), len(task["comments"]["edges"])]
    if name == "search":
        return [len(data["searchTasks"]["nodes"])]
    user = data["user"]
    return [len(user["projects"]), len(user["assignedTasks"]["nodes"])]


def _every_relation_filled(name: str, data: dict[str, Any]) -> None:
    if name == "board":
        for node in data["project"]["tasks"]["nodes"]:
            assert node["assignee"] is not None
            assert [label["name"] for label in node["labels"]] == ["bug", "feature"]
            assert node["commentCount"] >= 1
    if name == "task_detail":
        task = data["task"]
        assert task["assignee"]
        assert task["reporter"]
        assert task["project"]
        assert all(edge["node"]["author"] is not None for edge in task["comments"]["edges"])
        assert all(sub["assignee"] is not None for sub in task["subtasks"])
    if name == "search":
        for node in data["searchTasks"]["nodes"]:
            assert node["project"]
            assert node["assignee"]
            assert len(node["labels"]) == 2


async def _counts(
    gql: GraphQLClient, services: Services, name: str, n: int
) -> tuple[int, int, dict[str, Any]]:
    org = await filled_org(services, n, PASSWORD)
    user = gql.as_user(await gql.login(org.viewer_email))
    query = (OPERATIONS / f"{name}.graphql").read_text()
    await services.cache.redis.flushdb()  # every cache cold
    cold = await user.run(query, _variables(name, org, n))
    warm = await user.run(query, _variables(name, org, n))
    assert "errors" not in cold, cold
    assert warm["data"] == cold["data"]
    expected = [n, min(n, 20)] if name == "task_detail" else [n] * len(_listed(name, cold["data"]))
    assert _listed(name, cold["data"]) == expected
    _every_relation_filled(name, cold["data"])
    return cold["extensions"]["sqlStatements"], warm["extensions"]["sqlStatements"], cold["data"]


@pytest.mark.parametrize("name", sorted(p.stem for p in OPERATIONS.glob("*.graphql")))
async def test_operation_stays_within_the_statement_budget(
    gql: GraphQLClient, services: Services, name: str
) -> None:
    # Given data where every relation is filled, once with 1 item per list and once with 100
    cold_1, warm_1, _ = await _counts(gql, services, name, 1)
    cold_100, warm_100, _ = await _counts(gql, services, name, 100)
    # Then the counts are within budget and do not grow with the data
    assert cold_1 <= 4, (cold_1, warm_1)
    assert warm_1 <= 3, (cold_1, warm_1)
    assert (cold_100, warm_100) == (cold_1, warm_1)
    # And the session cache is what saves the statement
    assert cold_1 == warm_1 + 1
