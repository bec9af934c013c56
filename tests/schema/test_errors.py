"""Bad input of every kind gets a stable ``extensions.code``, a 4xx where nothing ran, and never a 500
or a traceback; the server keeps answering afterwards."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson
import pytest
import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.routing import Route

from persistence.seed import SeedSizes
from resolvers.context import Services
from resolvers.errors import NotFound
from resolvers.trusted_documents import TrustedDocuments
from schema.core.cursors import encode_cursor
from schema.core.errors import INTERNAL_MESSAGE, Phase, format_error
from schema.core.ids import encode_id
from schema.guard.documents import DocumentCache
from schema.guard.protection import query_limits
from schema.http.view import GraphQLView
from tests.conftest import GraphQLClient, make_settings

TINY = SeedSizes(users=3, projects=2, tasks=6, comments_per_task=1.0, members_per_project=2)
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
TASKS_PAGE = "query($after: String, $order: TaskOrder) { tasks(first: 2, after: $after, orderBy: $order) { totalCount nodes { id } } }"  # noqa: E501


@dataclass
class Bad:
    """One bad request and what must come back."""

    status: int
    code: str
    method: str = "POST"
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": JSON})
    params: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def owner(gql: GraphQLClient, make_org: Any) -> GraphQLClient:
    org = await make_org(TINY)
    return gql.as_user(await gql.login(org.owner_email))


def _body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


def assert_clean(response: httpx.Response) -> dict[str, Any]:
    """No 5xx, no traceback, a JSON body: what every answer to bad input must be."""
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = assert_clean(response)
    assert response.status_code == status, response.text
    assert body["errors"], body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code] * len(body["errors"]), body
    assert all(e["message"] for e in body["errors"])
    return body


def assert_field_error(body: dict[str, Any], code: str, argument: str | None = None) -> None:
    """An error raised by a resolver: data is present (nulled), the error names its code."""
    assert "data" in body, body
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes == [code], body
    if argument is not None:
        assert body["errors"][0]["extensions"]["argument"] == argument, body


async def send(client: httpx.AsyncClient, bad: Bad) -> httpx.Response:
    if bad.method == "GET":
        return await client.get("/graphql", params=bad.params, headers=bad.headers)
    return await client.post("/graphql", content=bad.content, headers=bad.headers)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


TRANSPORT_CASES: dict[str, Bad] = {
    "malformed json": Bad(400, "BAD_USER_INPUT", content=b'{"query": "{ viewer { user { id } } }"'),
    "json nested 5000 deep": Bad(400, "BAD_USER_INPUT", content=_nested(5000)),
    "variables nested 5000 deep": Bad(
        400,
        "BAD_USER_INPUT",
        content=b'{"query": "{ __typename }", "variables": {"v": ' + _nested(5000) + b"}}",
    ),
    "not utf-8": Bad(400, "BAD_USER_INPUT", content=b'{"query": "\xff\xfe"}'),
    "byte order mark": Bad(400, "BAD_USER_INPUT", content=b'\xef\xbb\xbf{"query": "{ __typename }"}'),
    "number past double": Bad(
        400, "BAD_USER_INPUT", content=b'{"query": "{ __typename }", "variables": {"n": 1e400}}'
    ),
    "empty body": Bad(400, "BAD_USER_INPUT", content=b""),
    "body is a string": Bad(400, "BAD_USER_INPUT", content=b'"{ __typename }"'),
    "body is a number": Bad(400, "BAD_USER_INPUT", content=b"42"),
    "body is null": Bad(400, "BAD_USER_INPUT", content=b"null"),
    "batched list": Bad(400, "BAD_USER_INPUT", content=b'[{"query": "{ __typename }"}]'),
    "missing query": Bad(400, "BAD_USER_INPUT", content=b'{"variables": {}}'),
    "blank query": Bad(400, "BAD_USER_INPUT", content=b'{"query": "   "}'),
    "query is not a string": Bad(400, "BAD_USER_INPUT", content=b'{"query": ["{ __typename }"]}'),
    "variables not an object": Bad(
        400, "BAD_USER_INPUT", content=b'{"query": "{ __typename }", "variables": [1]}'
    ),
    "operationName not a string": Bad(
        400, "BAD_USER_INPUT", content=b'{"query": "{ __typename }", "operationName": 7}'
    ),
    "unknown operationName": Bad(
        400, "BAD_USER_INPUT", content=b'{"query": "query A { __typename }", "operationName": "B"}'
    ),
    "two operations, none named": Bad(
        400, "BAD_USER_INPUT", content=b'{"query": "query A { __typename } query B { __typename }"}'
    ),
    "form encoded": Bad(
        415,
        "BAD_USER_INPUT",
        content=b"query=%7B__typename%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    "text/plain": Bad(
        415, "BAD_USER_INPUT", content=b'{"query": "{ __typename }"}', headers={"content-type": "text/plain"}
    ),
    # Multipart is taken only for attachmentUpload, and only with a header no form can send.
    "multipart without a preflight header": Bad(
        400, "CSRF_PREVENTED", content=b"--x--", headers={"content-type": "multipart/form-data; boundary=x"}
    ),
    "no content type": Bad(415, "BAD_USER_INPUT", content=b'{"query": "{ __typename }"}', headers={}),
    "body over 1 MB": Bad(
        413, "BAD_USER_INPUT", content=b'{"query": "{ __typename }", "pad": "' + b"x" * 1_000_001 + b'"}'
    ),
    "GET without query": Bad(400, "BAD_USER_INPUT", method="GET", headers={"accept": JSON}),
    "GET with malformed variables": Bad(
        400, "BAD_USER_INPUT", method="GET", params={"query": "{ __typename }", "variables": "{nope"}
    ),
    "mutation over GET": Bad(
        405, "BAD_USER_INPUT", method="GET", params={"query": "mutation { authLogout { ok } }"}
    ),
    "bearer without token": Bad(
        401,
        "UNAUTHENTICATED",
        content=_body("{ viewer { user { id } } }"),
        headers={"content-type": JSON, "authorization": "Bearer "},
    ),
    "forged token": Bad(
        401,
        "UNAUTHENTICATED",
        content=_body("{ viewer { user { id } } }"),
        headers={"content-type": JSON, "authorization": "Bearer not.a.jwt"},
    ),
    "basic auth": Bad(
        401,
        "UNAUTHENTICATED",
        content=_body("{ viewer { user { id } } }"),
        headers={"content-type": JSON, "authorization": "Basic dXNlcjpwYXNz"},
    ),
}


@pytest.mark.parametrize("case", TRANSPORT_CASES.values(), ids=TRANSPORT_CASES.keys())
async def test_a_request_that_cannot_reach_graphql_gets_a_4xx_and_a_code(
    client: httpx.AsyncClient, case: Bad
) -> None:
    # Given a request broken at the HTTP or JSON level
    # When it is sent
    response = await send(client, case)
    # Then it is refused with the status and code of its kind, and nothing ran
    body = assert_error(response, case.status, case.code)
    assert "data" not in body


async def test_a_body_over_the_limit_is_refused_while_streaming(client: httpx.AsyncClient) -> None:
    # Given a chunked body that declares no length and runs past 1 MB
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    # When it is streamed to the endpoint
    response = await client.post("/graphql", content=chunks(), headers={"content-type": JSON})
    # Then it is refused as too large
    assert_error(response, 413, "BAD_USER_INPUT")


async def test_a_mutation_over_get_names_the_allowed_method(client: httpx.AsyncClient) -> None:
    # When a mutation arrives as GET
    response = await client.get("/graphql", params={"query": "mutation { authLogout { ok } }"})
    # Then it is refused with 405 and Allow: POST
    assert_error(response, 405, "BAD_USER_INPUT")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_refused(client: httpx.AsyncClient, method: str) -> None:
    # Given a subscription-shaped operation
    query = "subscription OnTask { taskChanged { id } }"
    # When it is sent over plain HTTP
    if method == "GET":
        response = await client.get("/graphql", params={"query": query}, headers={"accept": GRAPHQL_RESPONSE})
    else:
        response = await client.post(
            "/graphql", content=_body(query), headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE}
        )
    # Then it never executes: a 4xx with a stable code
    body = assert_clean(response)
    assert response.status_code == 400
    assert body["errors"][0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")
    assert "data" not in body


PARSE_FAILURES = [
    "{ viewer { user { id } }",
    "query {",
    "}}}",
    "{ tasks(first: ) { totalCount } }",
    'query { taskByKey(key: "unterminated) { id } }',
    "query Q($x: Int = ) { __typename }",
    "{ viewer { ...on } }",
    "\u0000",
    "{" * 300 + "}" * 300,
]


@pytest.mark.parametrize("query", PARSE_FAILURES)
@pytest.mark.parametrize(
    ("accept", "status", "media"), [(JSON, 200, JSON), (GRAPHQL_RESPONSE, 400, GRAPHQL_RESPONSE)]
)
async def test_a_syntax_error_is_a_parse_failure(
    client: httpx.AsyncClient, query: str, accept: str, status: int, media: str
) -> None:
    # When a document that does not parse is posted
    response = await client.post(
        "/graphql", content=_body(query), headers={"content-type": JSON, "accept": accept}
    )
    # Then it is a parse failure, in the media type and status the client asked for
    body = assert_error(response, status, "GRAPHQL_PARSE_FAILED")
    assert response.headers["content-type"].startswith(media)
    assert "data" not in body


VALIDATION_FAILURES = [
    "{ nope }",
    "{ viewer { user { nope } } }",
    "{ viewer }",
    '{ tasks(first: "ten") { totalCount } }',
    "{ tasks(first: 99999999999) { totalCount } }",
    "{ tasks(first: 1.5) { totalCount } }",
    "{ task(id: 1.5) { id } }",
    "{ task { id } }",
    "{ tasks(filter: { status: [NOPE] }) { totalCount } }",
    "{ tasks(filter: { nope: 1 }) { totalCount } }",
    "{ tasks(orderBy: { field: TITLE }) { totalCount } }",
    '{ tasks(filter: { dueBefore: "yesterday" }) { totalCount } }',
    "{ taskByKey(key: 42) { id } }",
    "{ searchTasks(query: null) { totalCount } }",
    "query($n: Int) { tasks(first: $m) { totalCount } }",
    "query($n: String) { tasks(first: $n) { totalCount } }",
    "{ viewer { user { id @nope } } }",
    "fragment F on Task { id } { viewer { user { ...F } } }",
    "mutation { nope }",
]


@pytest.mark.parametrize("query", VALIDATION_FAILURES)
async def test_an_invalid_document_is_a_validation_failure(client: httpx.AsyncClient, query: str) -> None:
    # When a document that parses but does not fit the schema is posted, as application/json
    response = await client.post("/graphql", content=_body(query), headers={"content-type": JSON})
    # Then it is a 200 (the media type's rule) with GRAPHQL_VALIDATION_FAILED and no data
    body = assert_error(response, 200, "GRAPHQL_VALIDATION_FAILED")
    assert response.headers["content-type"].startswith(JSON)
    assert "data" not in body


async def test_one_error_per_unknown_directive_and_at_most_ten_in_all(client: httpx.AsyncClient) -> None:
    # Ten uses of one unknown directive are one error
    repeated = "{ viewer { user { " + " ".join(f"a{i}: id @nope" for i in range(10)) + " } } }"
    response = await client.post("/graphql", content=_body(repeated), headers={"content-type": JSON})
    body = assert_error(response, 200, "GRAPHQL_VALIDATION_FAILED")
    assert [e["message"] for e in body["errors"]] == ["Unknown directive '@nope'."]
    # Thirty unknown fields are nine errors and a tenth saying how many more were left out
    many = "{ viewer { user { " + " ".join(f"f{i}" for i in range(30)) + " } } }"
    response = await client.post("/graphql", content=_body(many), headers={"content-type": JSON})
    errors = assert_error(response, 200, "GRAPHQL_VALIDATION_FAILED")["errors"]
    assert len(errors) == 10
    assert errors[-1]["message"] == "21 more validation errors were left out; fix these first"
    assert errors[-1]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_the_graphql_response_media_type_says_400_for_validation_errors(
    client: httpx.AsyncClient,
) -> None:
    # Given the same invalid document sent with each Accept header
    sent = _body("{ nope }")
    # When it is posted asking for the newer media type, and then for plain JSON
    newer = await client.post(
        "/graphql", content=sent, headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE}
    )
    plain = await client.post("/graphql", content=sent, headers={"content-type": JSON, "accept": JSON})
    # Then the newer one gets its own content type and a 400; plain JSON gets a 200
    assert newer.status_code == 400
    assert newer.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith(JSON)
    assert newer.json() == plain.json()


VARIABLE_FAILURES: list[tuple[str, dict[str, Any]]] = [
    ("query($n: Int) { tasks(first: $n) { totalCount } }", {"n": "ten"}),
    ("query($n: Int) { tasks(first: $n) { totalCount } }", {"n": 2**40}),
    ("query($n: Int) { tasks(first: $n) { totalCount } }", {"n": 2**70}),
    ("query($n: Int) { tasks(first: $n) { totalCount } }", {"n": 1.5}),
    ("query($n: Int) { tasks(first: $n) { totalCount } }", {"n": [1]}),
    ("query($id: ID!) { task(id: $id) { id } }", {}),
    ("query($id: ID!) { task(id: $id) { id } }", {"id": None}),
    ("query($id: ID!) { task(id: $id) { id } }", {"id": {"nested": True}}),
    ("query($f: TaskFilter) { tasks(filter: $f) { totalCount } }", {"f": {"status": ["NOPE"]}}),
    ("query($f: TaskFilter) { tasks(filter: $f) { totalCount } }", {"f": {"nope": 1}}),
    ("query($f: TaskFilter) { tasks(filter: $f) { totalCount } }", {"f": {"dueBefore": "2024-13-45"}}),
    ("query($f: TaskFilter) { tasks(filter: $f) { totalCount } }", {"f": "status"}),
    ("query($o: TaskOrder) { tasks(orderBy: $o) { totalCount } }", {"o": {"field": "TITLE"}}),
    ("query($q: String!) { searchTasks(query: $q) { totalCount } }", {"q": 5}),
]


@pytest.mark.parametrize(("query", "variables"), VARIABLE_FAILURES)
async def test_variables_of_the_wrong_type_are_bad_user_input(
    owner: GraphQLClient, query: str, variables: dict[str, Any]
) -> None:
    # When variables that do not coerce to their declared types are sent, asking for the newer media type
    response = await owner.post(query, variables, accept=GRAPHQL_RESPONSE)
    # Then the operation never starts: a 400 with BAD_USER_INPUT and no data
    body = assert_error(response, 400, "BAD_USER_INPUT")
    assert "data" not in body
    # And as application/json the same answer comes with a 200
    plain = await owner.post(query, variables)
    assert_error(plain, 200, "BAD_USER_INPUT")


async def test_a_field_needs_a_principal(gql: GraphQLClient) -> None:
    # When a field is read without a token
    body = assert_clean(await gql.post("{ viewer { user { id } } }"))
    # Then the field error says UNAUTHENTICATED
    assert_field_error(body, "UNAUTHENTICATED")
    assert body["data"] is None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSOR_CASES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "garbage": ("!!not a cursor!!", None),
    "random base64": (_b64(os.urandom(24)), None),
    "base64 of text": (_b64(b"hello world"), None),
    "json object": (_b64(b'{"order": "created_at", "id": 1}'), None),
    "too short list": (_b64(b'["created_at", 1]'), None),
    "a users cursor": (encode_cursor("name", "Ada", 1), None),
    "another order's cursor": (encode_cursor("priority", 2, 5), None),
    "search cursor": (encode_cursor("search", 3, 5), None),
    "naive datetime": (encode_cursor("created_at", "2024-01-01T00:00:00", 5), None),
    "value of the wrong type": (encode_cursor("priority", "high", 5), {"field": "PRIORITY"}),
    "boolean id": (_b64(b'["priority", 1, true]'), {"field": "PRIORITY"}),
    "float id": (_b64(b'["priority", 1, 1.5]'), {"field": "PRIORITY"}),
    "bad date": (encode_cursor("due_date", "2024-02-30", 5), {"field": "DUE_DATE"}),
    "created_at cursor on position": (
        encode_cursor("created_at", "2024-01-01T00:00:00+00:00", 5),
        {"field": "POSITION"},
    ),
    "longer than 512": ("A" * 600, None),
    "unicode": ("☃☃☃☃", None),
}


@pytest.mark.parametrize("cursor", CURSOR_CASES.values(), ids=CURSOR_CASES.keys())
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_a_cursor_that_is_not_of_this_list_is_bad_user_input(
    owner: GraphQLClient, cursor: tuple[str, dict[str, Any] | None], argument: str
) -> None:
    # Given a cursor that this list did not make
    value, order = cursor
    query = TASKS_PAGE.replace("after: $after", f"{argument}: $after")
    if argument == "before":
        query = query.replace("first: 2", "last: 2")
    # When it is passed to the tasks connection
    body = assert_clean(await owner.post(query, {"after": value, "order": order}))
    # Then the field fails with BAD_USER_INPUT naming the argument
    assert_field_error(body, "BAD_USER_INPUT", argument)
    assert body["data"] is None


async def test_cursors_of_nested_and_other_connections_are_checked_too(owner: GraphQLClient) -> None:
    # Given a cursor from the tasks list
    page = await owner.run(
        "{ tasks(first: 1) { pageInfo { endCursor } } viewer { user { id } } }",
    )
    task_cursor = page["data"]["tasks"]["pageInfo"]["endCursor"]
    user_id = page["data"]["viewer"]["user"]["id"]
    queries = {
        "users": "query($c: String) { users(after: $c) { totalCount } }",
        "projects": "query($c: String) { projects(before: $c, last: 1) { totalCount } }",
        "searchTasks": 'query($c: String) { searchTasks(query: "fix", after: $c) { totalCount } }',
        "user": "query($c: String, $u: ID!) { user(id: $u) { assignedTasks(after: $c, "
        "orderBy: {field: NUMBER}) { totalCount } } }",
    }
    for name, query in queries.items():
        # When it is passed to a list of another order
        body = assert_clean(await owner.post(query, {"c": task_cursor, "u": user_id}))
        # Then that list refuses it
        assert_field_error(body, "BAD_USER_INPUT", "after" if name != "projects" else "before")


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor("search", -5, 1),
        encode_cursor("search", 10**12, 1),
        _b64(b'["search", 1180591620717411303424, 1]'),
        encode_cursor("search", 1.5, 1),
        encode_cursor("search", "3", 1),
        encode_cursor("created_at", 3, 1),
    ],
    ids=["negative offset", "huge offset", "past bigint", "float offset", "string offset", "other order"],
)
async def test_a_search_cursor_out_of_range_is_bad_user_input(owner: GraphQLClient, cursor: str) -> None:
    # When searchTasks is paged with a cursor whose position it never handed out
    body = assert_clean(
        await owner.post(
            'query($c: String) { searchTasks(query: "fix", after: $c) { totalCount } }', {"c": cursor}
        )
    )
    # Then it fails with BAD_USER_INPUT on `after`
    assert_field_error(body, "BAD_USER_INPUT", "after")


FIRST_LAST_CASES: list[tuple[str, str]] = [
    ("{ tasks(first: -1) { totalCount } }", "first"),
    ("{ tasks(last: -5) { totalCount } }", "last"),
    ("{ tasks(first: 101) { totalCount } }", "first"),
    ("{ tasks(first: 2147483647) { totalCount } }", "first"),
    ("{ tasks(last: 2147483647) { totalCount } }", "last"),
    ("{ tasks(first: -2147483648) { totalCount } }", "first"),
    ("{ tasks(first: 1, last: 1) { totalCount } }", "first"),
    ("{ users(first: 1000) { totalCount } }", "first"),
    ("{ projects(first: 2, last: 2) { totalCount } }", "first"),
    ('{ searchTasks(query: "fix", first: -1) { totalCount } }', "first"),
    ('{ searchTasks(query: "fix", first: 100000) { totalCount } }', "first"),
    ("{ viewer { assignedTasks(first: -1) { totalCount } } }", "first"),
]


@pytest.mark.parametrize(("query", "argument"), FIRST_LAST_CASES)
async def test_page_sizes_out_of_range_are_bad_user_input(
    owner: GraphQLClient, query: str, argument: str
) -> None:
    # When a connection is asked for a negative, huge, or two-sided page
    body = assert_clean(await owner.post(query))
    # Then the field fails with BAD_USER_INPUT naming the argument
    assert_field_error(body, "BAD_USER_INPUT", argument)


async def test_a_page_of_zero_is_allowed(owner: GraphQLClient) -> None:
    # When a connection is asked for no items, only its count
    body = await owner.run("{ tasks(first: 0) { totalCount nodes { id } pageInfo { hasNextPage } } }")
    # Then the count comes without nodes
    assert "errors" not in body, body
    assert body["data"]["tasks"]["nodes"] == []
    assert body["data"]["tasks"]["totalCount"] == TINY.tasks
    assert body["data"]["tasks"]["pageInfo"]["hasNextPage"] is True


def _raw_id(text: str) -> str:
    return _b64(text.encode())


BAD_IDS: dict[str, str] = {
    "garbage": "garbage!",
    "empty": "",
    "random base64": _b64(os.urandom(12)),
    "no type": _raw_id(":5"),
    "no number": _raw_id("Task:"),
    "negative": _raw_id("Task:-1"),
    "zero": _raw_id("Task:0"),
    "decimal": _raw_id("Task:1.5"),
    "past bigint": _raw_id("Task:9223372036854775808"),
    "huge": _raw_id("Task:" + "9" * 40),
    "unicode digits": _raw_id("Task:١٢"),
    "type with digits": _raw_id("Task2:5"),
    "a project id": encode_id("Project", 1),
    "a user id": encode_id("User", 1),
    "longer than 64": _raw_id("Task:" + "1" * 100),
    "sql": "1 OR 1=1",
}


@pytest.mark.parametrize("global_id", BAD_IDS.values(), ids=BAD_IDS.keys())
async def test_a_bad_global_id_is_bad_user_input(owner: GraphQLClient, global_id: str) -> None:
    # When task(id:) gets something that is not a Task id
    body = assert_clean(await owner.post("query($id: ID!) { task(id: $id) { id } }", {"id": global_id}))
    # Then it fails with BAD_USER_INPUT on `id`
    assert_field_error(body, "BAD_USER_INPUT", "id")
    assert body["data"] == {"task": None}


async def test_ids_that_decode_but_name_nothing_are_not_found(owner: GraphQLClient) -> None:
    # Given well-formed ids of things that do not exist (the largest id, a type without a node)
    for query, global_id in [
        ("query($id: ID!) { task(id: $id) { id } }", encode_id("Task", 2**63 - 1)),
        ("query($id: ID!) { node(id: $id) { id } }", encode_id("Comment", 1)),
        ("query($id: ID!) { node(id: $id) { id } }", encode_id("Organization", 2**63 - 1)),
        ("query($id: ID!) { project(id: $id) { id } }", encode_id("Project", 2**62)),
    ]:
        # When they are looked up
        body = assert_clean(await owner.post(query, {"id": global_id}))
        # Then the answer is NOT_FOUND, not an error of the server
        assert_field_error(body, "NOT_FOUND")


async def test_bad_ids_inside_filters_name_the_filter_field(owner: GraphQLClient) -> None:
    query = "query($f: TaskFilter) { tasks(filter: $f) { totalCount } }"
    for filter_value, argument in [
        ({"projectIds": ["nope"]}, "filter.projectIds"),
        ({"assigneeIds": [encode_id("Task", 1)]}, "filter.assigneeIds"),
        ({"labelIds": [_raw_id("Label:" + "9" * 30)]}, "filter.labelIds"),
        ({"parentId": encode_id("User", 1)}, "filter.parentId"),
        ({"projectIds": [encode_id("Project", i) for i in range(1, 102)]}, "filter.projectIds"),
        ({"priority": [7]}, "filter.priority"),
        ({"priority": [-1]}, "filter.priority"),
    ]:
        # When a filter holds an id of the wrong kind, too many ids, or a value out of range
        body = assert_clean(await owner.post(query, {"f": filter_value}))
        # Then the error names the filter's field
        assert_field_error(body, "BAD_USER_INPUT", argument)


MALFORMED_KEYS = [
    "",
    "OPS",
    "OPS-",
    "-1",
    "OPS-0",
    "OPS-01",
    "OPS--1",
    "OPS-1.5",
    "OPS-9999999999999",
    "1OPS-1",
    "O PS-1",
    "' OR 1=1 --",
    "OPS-1; DROP TABLE tasks",
    "OPS-1\u0000",
    "ÖPS-1",
    "K" * 10_000,
]


@pytest.mark.parametrize("key", MALFORMED_KEYS)
async def test_a_malformed_task_key_is_bad_user_input(owner: GraphQLClient, key: str) -> None:
    # When taskByKey gets something that is not PROJECT-NUMBER
    body = assert_clean(await owner.post("query($k: String!) { taskByKey(key: $k) { id } }", {"k": key}))
    # Then it fails with BAD_USER_INPUT on `key`, and the message quotes at most a bounded prefix
    assert_field_error(body, "BAD_USER_INPUT", "key")
    assert len(body["errors"][0]["message"]) < 200


async def test_a_well_formed_key_of_nothing_is_not_found(owner: GraphQLClient) -> None:
    body = assert_clean(await owner.post('{ taskByKey(key: "ZZZ-1") { id } }'))
    assert_field_error(body, "NOT_FOUND")


SEARCH_TEXTS = [
    "'",
    "''",
    '"',
    '"unbalanced',
    "\\",
    "\\'",
    "%",
    "_",
    "%_%",
    "*",
    "fix*",
    "+fix -login",
    "<fix >login",
    "(fix)",
    "~fix",
    "@3",
    '"fix login"@2',
    "fix NEAR login",
    "NEAR(fix login, 2)",
    "fix AND login",
    "fix OR login",
    "NOT fix",
    "fix\u0000login",
    "\u0000",
    "'; DROP TABLE tasks; --",
    "title:fix",
    "^fix",
    "a",
    "ö",
    "🦓",
    "tab\tand\nnewline",
]


@pytest.mark.parametrize("text", SEARCH_TEXTS)
async def test_search_text_with_special_characters_is_just_text(owner: GraphQLClient, text: str) -> None:
    # When the search text carries SQL, LIKE, FULLTEXT or FTS5 syntax
    body = assert_clean(
        await owner.post(
            "query($q: String!) { searchTasks(query: $q, first: 5) { totalCount nodes { id title } } }",
            {"q": text},
        )
    )
    # Then it is searched for as words: an answer, never an error
    assert "errors" not in body, body
    result = body["data"]["searchTasks"]
    assert result["totalCount"] >= len(result["nodes"])


@pytest.mark.parametrize(("text", "why"), [("x" * 10_000, "longer"), ("", "empty"), ("   \t ", "empty")])
async def test_search_text_too_long_or_empty_is_bad_user_input(
    owner: GraphQLClient, text: str, why: str
) -> None:
    # When the search text is empty or far past the limit
    body = assert_clean(
        await owner.post("query($q: String!) { searchTasks(query: $q) { totalCount } }", {"q": text})
    )
    # Then it fails with BAD_USER_INPUT on `query`
    assert_field_error(body, "BAD_USER_INPUT", "query")
    assert why in body["errors"][0]["message"]


def _graphql_error(original: Exception | None, path: list[str | int] | None) -> GraphQLError:
    return GraphQLError(str(original or "boom"), path=path, original_error=original)


@strawberry.type
class ProbeQuery:
    @strawberry.field
    def ok(self) -> bool:
        return True

    @strawberry.field
    def boom(self) -> int:
        raise RuntimeError("connection to db-7.internal refused")


@strawberry.type
class ProbeSubscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 1


@asynccontextmanager
async def probe_client(services: Services, environment: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real view over a tiny schema that has a subscription and a resolver with a bug."""
    probe = strawberry.Schema(query=ProbeQuery, subscription=ProbeSubscription)
    # Free-form documents run: this probe is about masking, not the trusted-document registry.
    settings = make_settings(
        environment=environment, jwt_secret="probe-secret-" + "x" * 32, trusted_documents="off"
    )
    view = GraphQLView.for_schema(
        replace(services, settings=settings),
        DocumentCache(probe._schema, max_entries=8, max_tokens=500, limits=query_limits(settings)),
        TrustedDocuments(services.db),
    )
    app = Starlette(routes=[Route("/graphql", view.handle, methods=["GET", "POST"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://probe.test"
    ) as http:
        yield http


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_the_schema_has_still_never_runs_over_http(
    services: Services, method: str
) -> None:
    # Given a schema that does have a subscription
    async with probe_client(services, "test") as probe:
        # When it is sent over plain HTTP
        if method == "GET":
            response = await probe.get("/graphql", params={"query": "subscription { ticks }"})
        else:
            response = await probe.post(
                "/graphql", content=_body("subscription { ticks }"), headers={"content-type": JSON}
            )
    # Then it is refused before executing
    body = assert_error(response, 400, "BAD_USER_INPUT")
    assert "WebSocket" in body["errors"][0]["message"]
    assert "data" not in body


@pytest.mark.parametrize(
    ("environment", "exposed"), [("test", False), ("production", False), ("development", True)]
)
async def test_a_resolver_bug_is_masked_outside_development(
    services: Services, environment: str, exposed: bool
) -> None:
    # Given a resolver that raises an exception nobody meant
    async with probe_client(services, environment) as probe:
        # When a query reaches it beside a field that works
        response = await probe.post("/graphql", content=_body("{ ok boom }"), headers={"content-type": JSON})
    # Then the answer is a 200 with INTERNAL_SERVER_ERROR, its detail only shown in development
    body = assert_error(response, 200, "INTERNAL_SERVER_ERROR")
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["boom"]
    assert ("db-7.internal" in response.text) is exposed
    if not exposed:
        assert body["errors"][0]["message"] == "Internal server error"


def test_an_unexpected_error_is_masked_outside_development() -> None:
    # Given an error a resolver did not mean to raise
    error = _graphql_error(RuntimeError("db password is hunter2"), ["tasks"])
    # When it is formatted for a client outside development
    formatted = format_error(error, Phase.EXECUTE, expose_internal=False)
    # Then the client sees only a generic message and INTERNAL_SERVER_ERROR
    assert formatted["message"] == INTERNAL_MESSAGE == "Internal server error"
    assert formatted["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in orjson.dumps(formatted).decode()
    assert formatted["path"] == ["tasks"]


def test_an_unexpected_error_keeps_its_message_in_development() -> None:
    error = _graphql_error(RuntimeError("division by zero in ranking"), ["searchTasks"])
    formatted = format_error(error, Phase.EXECUTE, expose_internal=True)
    assert formatted["message"] == "division by zero in ranking"
    assert formatted["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_domain_errors_keep_their_message_and_code_even_when_masking() -> None:
    error = _graphql_error(NotFound("task"), ["task"])
    formatted = format_error(error, Phase.EXECUTE, expose_internal=False)
    assert formatted["message"] == "task not found"
    assert formatted["extensions"]["code"] == "NOT_FOUND"


def test_each_phase_has_its_own_code() -> None:
    assert format_error(GraphQLError("x"), Phase.PARSE, expose_internal=False)["extensions"] == {
        "code": "GRAPHQL_PARSE_FAILED"
    }
    assert format_error(GraphQLError("x"), Phase.VALIDATE, expose_internal=False)["extensions"] == {
        "code": "GRAPHQL_VALIDATION_FAILED"
    }
    # A pathless error without a cause during execution is a variable that did not coerce
    assert format_error(GraphQLError("x"), Phase.EXECUTE, expose_internal=False)["extensions"] == {
        "code": "BAD_USER_INPUT"
    }


async def test_after_the_barrage_the_server_still_answers(
    client: httpx.AsyncClient, owner: GraphQLClient
) -> None:
    # Given every bad request above sent at once, alongside bad resolver input
    bad = [send(client, case) for case in TRANSPORT_CASES.values()]
    bad += [owner.post(q) for q in PARSE_FAILURES + VALIDATION_FAILURES + [q for q, _ in FIRST_LAST_CASES]]
    bad += [owner.post(q, v) for q, v in VARIABLE_FAILURES]
    bad += [
        owner.post("query($q: String!) { searchTasks(query: $q) { totalCount } }", {"q": t})
        for t in SEARCH_TEXTS
    ]
    bad += [owner.post("query($id: ID!) { task(id: $id) { id } }", {"id": i}) for i in BAD_IDS.values()]
    responses = await asyncio.gather(*bad)
    for response in responses:
        assert_clean(response)
    # When a normal query follows
    body = await owner.run(
        "{ viewer { user { email } } tasks(first: 3) { totalCount nodes { key assignee { name } } } }"
    )
    # Then it is answered in full
    assert "errors" not in body, body
    assert body["data"]["viewer"]["user"]["email"].startswith("owner@")
    assert body["data"]["tasks"]["totalCount"] == TINY.tasks
    assert len(body["data"]["tasks"]["nodes"]) == 3
