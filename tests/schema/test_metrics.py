"""`/metrics` after GraphQL requests: per class and operation label, bounded labels, route templates,
and `database_queries_total` against the statements a request sends."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from schema.guard import operation_metrics
from schema.guard.operation_metrics import OperationLabels
from tests.conftest import GraphQLClient
from tests.scrape import label_values, sample

VIEWER = "query MetricsProbe { viewer { user { id name } } }"


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def logged_in(gql: GraphQLClient, make_org: Any) -> GraphQLClient:
    org = await make_org()
    return gql.as_user(await gql.login(org.owner_email))


async def test_operations_are_counted_and_timed_per_class_and_name(
    client: httpx.AsyncClient, gql: GraphQLClient, make_org: Any
) -> None:
    # Given a signed-in user and the counts so far
    user = await logged_in(gql, make_org)
    before = await scrape(client)
    labels = {"operation_class": "read", "operation": "MetricsProbe"}
    # When the user runs the named query twice and a list query once
    for _ in range(2):
        body = await user.run(VIEWER)
        assert "errors" not in body, body
    assert "errors" not in await user.run("query MetricsList { projects(first: 5) { totalCount } }")
    after = await scrape(client)
    # Then each is counted under its class and name, with its latency and statements observed
    ok = sample(after, "graphql_operations_total", outcome="ok", **labels)
    assert ok - sample(before, "graphql_operations_total", outcome="ok", **labels) == 2
    timed = sample(after, "graphql_operation_duration_seconds_count", **labels)
    assert timed - sample(before, "graphql_operation_duration_seconds_count", **labels) == 2
    listed = {"operation_class": "list", "operation": "MetricsList", "outcome": "ok"}
    assert (
        sample(after, "graphql_operations_total", **listed)
        - sample(before, "graphql_operations_total", **listed)
        == 1
    )
    statements = sample(after, "graphql_sql_statements_count", operation_class="read")
    assert statements - sample(before, "graphql_sql_statements_count", operation_class="read") == 2
    cost = sample(after, "graphql_operation_cost_count", operation_class="read")
    assert cost - sample(before, "graphql_operation_cost_count", operation_class="read") == 2
    # And the document's text is never a label
    assert "viewer { user" not in after


async def test_refused_and_failed_operations_have_their_outcome(
    client: httpx.AsyncClient, gql: GraphQLClient, make_org: Any
) -> None:
    # Given a signed-in user
    user = await logged_in(gql, make_org)
    refused = {"operation_class": "read", "operation": "MetricsRefused", "outcome": "refused"}
    failed = {"operation_class": "read", "operation": "MetricsFailed", "outcome": "error"}
    before = await scrape(client)
    # When a subscription is sent over HTTP (refused before it runs) and a query fails while it runs
    response = await user.post('subscription MetricsRefused { taskEvents(projectId: "x") { type } }')
    assert response.status_code == 400
    body = await user.run('query MetricsFailed { task(id: "VGFzazo5OTk5OTk5OQ==") { title } }')
    assert body.get("errors"), body
    after = await scrape(client)
    # Then the first counts as refused and the second as an error
    assert (
        sample(after, "graphql_operations_total", **refused)
        - sample(before, "graphql_operations_total", **refused)
        == 1
    )
    assert (
        sample(after, "graphql_operations_total", **failed)
        - sample(before, "graphql_operations_total", **failed)
        == 1
    )


async def test_made_up_names_collapse_to_bounded_labels(
    client: httpx.AsyncClient, gql: GraphQLClient, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that has handed out all the labels it may
    user = await logged_in(gql, make_org)
    full = OperationLabels(limit=1)
    full.label("MetricsOnlyOne", None)
    monkeypatch.setattr(operation_metrics, "LABELS", full)
    # When clients send an overlong name, a new name and an unnamed operation
    long_name = "N" * 65
    assert "errors" not in await user.run(f"query {long_name} {{ viewer {{ user {{ id }} }} }}")
    # (a name made here: the differential test runs every document literal of the suite in this process)
    brand_new = f"MetricsBrandNew{uuid.uuid4().hex[:8]}"
    assert "errors" not in await user.run(f"query {brand_new} {{ viewer {{ user {{ id }} }} }}")
    assert "errors" not in await user.run("query MetricsOnlyOne { viewer { user { id } } }")
    assert "errors" not in await user.run("{ viewer { user { id } } }")
    text = await scrape(client)
    # Then they are labelled invalid, other, their own (already known) and anonymous
    seen = label_values(text, "graphql_operations_total", "operation")
    assert {"invalid", "other", "MetricsOnlyOne", "anonymous"} <= seen
    assert long_name not in text
    assert brand_new not in text


def test_labels_keep_the_first_names_and_trust_registered_ids() -> None:
    labels = OperationLabels(limit=2)
    assert labels.label("First", None) == "First"
    assert labels.label("bad-name", None) == "invalid"
    assert labels.label(None, None) == "anonymous"
    assert labels.label("Second", None) == "Second"
    assert labels.label("Third", None) == "other"
    assert labels.label("First", None) == "First"


async def test_http_requests_are_labelled_by_route_template(client: httpx.AsyncClient) -> None:
    # Given the counts so far
    before = await scrape(client)
    route = {"method": "GET", "route": "/attachments/{id}"}
    # When a download of an attachment that does not exist and an unknown path are asked for
    await client.get("/attachments/QXR0YWNobWVudDox")
    await client.get("/no/such/path/1234")
    after = await scrape(client)
    # Then the first counts under its template, the second as unmatched; neither raw path is a label
    assert sample(after, "http_requests_total", **route) - sample(before, "http_requests_total", **route) == 1
    assert sample(after, "http_request_duration_seconds_count", **route) >= 1
    assert (
        sample(after, "http_requests_total", route="unmatched")
        - sample(before, "http_requests_total", route="unmatched")
        == 1
    )
    assert "QXR0YWNobWVudDox" not in after
    assert "/no/such/path" not in after


async def test_database_queries_grow_by_the_statements_a_request_sends(
    client: httpx.AsyncClient, gql: GraphQLClient, make_org: Any
) -> None:
    # Given a signed-in user and the statement count so far
    user = await logged_in(gql, make_org)
    before = sample(await scrape(client), "database_queries_total")
    # When the user runs a list query (its extensions say how many statements it sent)
    body = await user.run("query MetricsStatements { projects(first: 5) { edges { node { name } } } }")
    sent = body["extensions"]["sqlStatements"]
    after = sample(await scrape(client), "database_queries_total")
    # Then the counter grew by exactly that many (scraping sends none)
    assert sent >= 1
    assert after - before == sent


async def test_the_queue_depths_are_read_at_scrape_time(client: httpx.AsyncClient) -> None:
    text = await scrape(client)
    assert label_values(text, "rq_queue_depth", "queue") == {"high", "default", "low"}
