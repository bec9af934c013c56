"""The request path's protection over HTTP: APQ, trusted documents and their modes, API keys, cost
and the budget, the static limits, production settings and the HTTP rules around them."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from persistence.db import create_engine
from persistence.models import Task, User
from persistence.settings import Settings
from resolvers.context import Services
from resolvers.trusted_documents import ManifestOperation, TrustedDocument, register_documents
from schema.app import create_app
from schema.build import build_schema
from schema.core.ids import encode_id
from schema.guard.documents import DocumentCache
from schema.guard.protection import query_limits
from schema.guard.registration import preparer
from tests.conftest import PASSWORD, GraphQLClient, make_settings
from tests.notification_crew import Crew, MakeOrg, make_crew

JSON = "application/json"
VIEWER = "query Viewer { viewer { user { id name } } }"
TASK_TITLE = "mutation Rename($i: TaskUpdateInput!) { taskUpdate(input: $i) { task { title version } } }"
_SCHEMA = build_schema()._schema


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def unique(text: str) -> str:
    """The same operation under a text (and so a hash) no other test uses."""
    return f"# {uuid.uuid4()}\n{text}"


async def register(services: Services, *bodies: str) -> list[TrustedDocument]:
    operations = [ManifestOperation(f"doc-{uuid.uuid4()}", body) for body in bodies]
    prepare = preparer(_SCHEMA, services.settings)
    result = await register_documents(services.db, operations, client_name="tests", prepare=prepare)
    return result.documents


@asynccontextmanager
async def server(
    services: Services, address: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app under its own settings (sharing the suite's engine and Redis)."""
    app = create_app(services=replace(services, settings=make_settings(**overrides)))
    transport = httpx.ASGITransport(app=app, client=(address, 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


PRODUCTION = {
    "environment": "production",
    "jwt_secret": "production-secret-" + "p" * 32,
    "trusted_documents": "off",
}
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"


async def production_login(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    """A token of the production server's own secret (the suite's tokens are signed with another)."""
    response = await http.post("/graphql", json={"query": LOGIN, "variables": {"e": email, "p": PASSWORD}})
    return bearer(response.json()["data"]["authLogin"]["accessToken"])


def token_of(crew: Crew, who: str) -> str:
    token = crew.clients[who].token
    assert token is not None
    return token


# --- APQ ----------------------------------------------------------------------------------------------


async def test_apq_round_trip_as_apollo_client_speaks_it(client: httpx.AsyncClient, crew: Crew) -> None:
    # Given a query this server has never seen, known to the client by its hash
    query = unique(VIEWER)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    auth = bearer(token_of(crew, "author"))
    # When the client sends the hash alone
    first = await client.post("/graphql", json={"extensions": extensions}, headers=auth)
    # Then the server asks for the text with Apollo's code and message
    assert (error_of(first)["extensions"]["code"], error_of(first)["message"]) == (
        "PERSISTED_QUERY_NOT_FOUND",
        "PersistedQueryNotFound",
    )
    # When it sends the hash with the text
    second = await client.post("/graphql", json={"query": query, "extensions": extensions}, headers=auth)
    # Then the query runs
    assert second.json()["data"]["viewer"]["user"]["id"] == encode_id("User", crew.ids["author"])
    # And later a GET with the hash alone is served, cacheable by the browser only
    params = {"extensions": '{"persistedQuery":{"version":1,"sha256Hash":"' + sha256(query) + '"}}'}
    third = await client.get("/graphql", params=params, headers=auth)
    assert third.status_code == 200, third.text
    assert third.json()["data"] == second.json()["data"]
    assert third.headers["cache-control"].startswith("private")
    assert "public" not in third.headers["cache-control"]
    assert "Authorization" in third.headers["vary"]
    # And revalidating with its ETag answers 304 without a body
    again = await client.get(
        "/graphql", params=params, headers={**auth, "if-none-match": third.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")


async def test_apq_refuses_a_text_that_is_not_the_hashed_one(client: httpx.AsyncClient, crew: Crew) -> None:
    # When the text does not hash to the hash sent with it
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256("{ other }")}}
    response = await client.post(
        "/graphql", json={"query": VIEWER, "extensions": extensions}, headers=bearer(token_of(crew, "author"))
    )
    # Then it is refused, and the hash stays unknown
    assert (response.status_code, error_of(response)["extensions"]["code"]) == (400, "BAD_USER_INPUT")
    retry = await client.post(
        "/graphql", json={"extensions": extensions}, headers=bearer(token_of(crew, "author"))
    )
    assert error_of(retry)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hashed_mutation_is_never_run_over_get(client: httpx.AsyncClient, crew: Crew) -> None:
    # Given a mutation sent over GET with its hash
    mutation = unique("mutation { authLogout { ok } }")
    extensions = '{"persistedQuery":{"version":1,"sha256Hash":"' + sha256(mutation) + '"}}'
    response = await client.get(
        "/graphql",
        params={"query": mutation, "extensions": extensions},
        headers=bearer(token_of(crew, "author")),
    )
    # Then it is refused and the session still works
    assert response.status_code == 405
    assert "errors" not in await crew.clients["author"].run(VIEWER)


# --- Trusted documents and their modes -------------------------------------------------------------------


async def test_enforce_runs_trusted_documents_only(services: Services, crew: Crew) -> None:
    [trusted] = await register(services, unique(VIEWER))
    auth = bearer(token_of(crew, "author"))
    async with server(services, trusted_documents="enforce") as http:
        # When a user sends free text
        refused = await http.post("/graphql", json={"query": unique(VIEWER)}, headers=auth)
        # Then it is refused
        assert refused.status_code == 403
        assert error_of(refused)["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        # And the trusted document runs by id, by hash, and as its own text
        by_id = await http.post("/graphql", json={"documentId": trusted.document_id}, headers=auth)
        hashed = {"persistedQuery": {"version": 1, "sha256Hash": trusted.sha256}}
        by_hash = await http.post("/graphql", json={"extensions": hashed}, headers=auth)
        as_text = await http.post("/graphql", json={"query": trusted.body}, headers=auth)
        for response in (by_id, by_hash, as_text):
            assert response.json()["data"]["viewer"]["user"]["id"] == encode_id("User", crew.ids["author"])
        # And an unknown document id is not found
        missing = await http.post("/graphql", json={"documentId": "doc-none"}, headers=auth)
        assert error_of(missing)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_enforce_stores_no_apq_text_it_refuses(services: Services, crew: Crew) -> None:
    query = unique(VIEWER)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    auth = bearer(token_of(crew, "author"))
    async with server(services, trusted_documents="enforce") as http:
        # When a client registers an untrusted text through APQ
        refused = await http.post("/graphql", json={"query": query, "extensions": extensions}, headers=auth)
        assert error_of(refused)["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    # Then nothing was stored: where free text may run, the hash is still unknown
    async with server(services, trusted_documents="log") as http:
        unknown = await http.post("/graphql", json={"extensions": extensions}, headers=auth)
        assert error_of(unknown)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_operator_may_run_free_text_under_enforce(
    services: Services, crew: Crew, gql: GraphQLClient
) -> None:
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == crew.ids["admin"]).values(is_operator=True))
    token = await gql.login(crew.emails["admin"], PASSWORD)
    async with server(services, trusted_documents="enforce") as http:
        response = await http.post("/graphql", json={"query": unique(VIEWER)}, headers=bearer(token))
    assert response.json()["data"]["viewer"]["user"]["id"] == encode_id("User", crew.ids["admin"])


def _logged() -> float:
    return REGISTRY.get_sample_value("graphql_untrusted_documents_total", {"outcome": "logged"}) or 0.0


async def test_log_runs_untrusted_documents_and_counts_them(services: Services, crew: Crew) -> None:
    before = _logged()
    async with server(services, trusted_documents="log") as http:
        response = await http.post(
            "/graphql", json={"query": unique(VIEWER)}, headers=bearer(token_of(crew, "author"))
        )
    assert response.json()["data"]["viewer"]["user"]["id"] == encode_id("User", crew.ids["author"])
    assert _logged() == before + 1


# --- API keys ------------------------------------------------------------------------------------------


async def _key(crew: Crew, scope: str) -> str:
    body = await crew.clients["owner"].run(
        "mutation($i: ApiKeyCreateInput!) { apiKeyCreate(input: $i) { key } }",
        {"i": {"name": f"integration {scope}", "scope": scope}},
    )
    assert "errors" not in body, body
    key: str = body["data"]["apiKeyCreate"]["key"]
    return key


async def _title(services: Services, task_id: int) -> str:
    async with services.db.read() as conn:
        return str((await conn.execute(select(Task.title).where(Task.id == task_id))).scalar_one())


async def _rename_input(client: GraphQLClient, task_id: int, title: str) -> dict[str, Any]:
    body = await client.run(
        "query($id: ID!) { task(id: $id) { version } }", {"id": encode_id("Task", task_id)}
    )
    version = body["data"]["task"]["version"]
    return {"i": {"id": encode_id("Task", task_id), "version": version, "title": title}}


async def test_an_api_key_runs_trusted_documents_only(
    client: httpx.AsyncClient, services: Services, crew: Crew
) -> None:
    [trusted] = await register(services, unique(VIEWER))
    key = await _key(crew, "READ")
    # When the key sends free text (the suite's mode is off: users may)
    refused = await client.post("/graphql", json={"query": unique(VIEWER)}, headers={"x-api-key": key})
    # Then it is refused
    assert (refused.status_code, error_of(refused)["extensions"]["code"]) == (
        403,
        "PERSISTED_QUERY_NOT_ALLOWED",
    )
    # And the trusted document runs, as the key's creator
    ran = await client.post("/graphql", json={"documentId": trusted.document_id}, headers={"x-api-key": key})
    assert ran.json()["data"]["viewer"]["user"]["id"] == encode_id("User", crew.ids["owner"])
    # And the same document by its text counts as trusted too
    text = await client.post("/graphql", json={"query": trusted.body}, headers={"x-api-key": key})
    assert "errors" not in text.json(), text.json()


async def test_a_read_key_cannot_write_and_a_read_write_key_can(
    client: httpx.AsyncClient, services: Services, crew: Crew
) -> None:
    [rename] = await register(services, unique(TASK_TITLE))
    before = await _title(services, crew.task_id)
    variables = await _rename_input(crew.clients["owner"], crew.task_id, "renamed by a key")
    # When a read-only key runs a trusted mutation
    read_key = await _key(crew, "READ")
    refused = await client.post(
        "/graphql",
        json={"documentId": rename.document_id, "variables": variables},
        headers={"x-api-key": read_key},
    )
    # Then it is forbidden and the task is unchanged
    assert (refused.status_code, error_of(refused)["extensions"]["code"]) == (403, "FORBIDDEN")
    assert await _title(services, crew.task_id) == before
    # When a read-write key runs it
    write_key = await _key(crew, "READ_WRITE")
    done = await client.post(
        "/graphql",
        json={"documentId": rename.document_id, "variables": variables},
        headers={"x-api-key": write_key},
    )
    # Then the task is renamed
    assert done.json()["data"]["taskUpdate"]["task"]["title"] == "renamed by a key"
    assert await _title(services, crew.task_id) == "renamed by a key"


async def test_a_revoked_key_and_two_credentials_are_refused(
    client: httpx.AsyncClient, services: Services, crew: Crew
) -> None:
    [trusted] = await register(services, unique(VIEWER))
    key = await _key(crew, "READ")
    owner = crew.clients["owner"]
    listed = await owner.run("{ apiKeys { id } }")
    key_id = listed["data"]["apiKeys"][-1]["id"]
    # When the key comes with a bearer token as well
    both = await client.post(
        "/graphql",
        json={"documentId": trusted.document_id},
        headers={"x-api-key": key, **bearer(token_of(crew, "author"))},
    )
    assert (both.status_code, error_of(both)["extensions"]["code"]) == (400, "BAD_USER_INPUT")
    # When the key is revoked
    revoked = await owner.run(
        "mutation($i: ApiKeyRevokeInput!) { apiKeyRevoke(input: $i) { apiKey { revokedAt } } }",
        {"i": {"id": key_id}},
    )
    assert revoked["data"]["apiKeyRevoke"]["apiKey"]["revokedAt"] is not None
    # Then its next request is unauthenticated
    after = await client.post(
        "/graphql", json={"documentId": trusted.document_id}, headers={"x-api-key": key}
    )
    assert (after.status_code, error_of(after)["extensions"]["code"]) == (401, "UNAUTHENTICATED")
    assert error_of(after)["message"] == "API key revoked"


# --- Cost and the budget --------------------------------------------------------------------------------

TASK_PAGE = "query Page($n: Int!) { tasks(first: $n) { nodes { id title assignee { id } project { id } } } }"


async def test_every_answer_reports_its_cost_and_budget(client: httpx.AsyncClient, crew: Crew) -> None:
    response = await client.post(
        "/graphql",
        json={"query": TASK_PAGE, "variables": {"n": 50}},
        headers=bearer(token_of(crew, "author")),
    )
    cost = response.json()["extensions"]["cost"]
    assert set(cost) == {"requested", "actual", "limit", "remaining", "restoreRate"}
    # The request paid for 50 tasks; the project has fewer it may see, so most came back
    assert 0 < cost["actual"] < cost["requested"]
    assert cost["limit"] == 5000
    # The bucket paid the actual cost only (it may have refilled since, up to its size)
    assert cost["limit"] - cost["actual"] <= cost["remaining"] <= cost["limit"]
    assert response.headers["x-ratelimit-limit"] == "5000"
    assert int(response.headers["x-ratelimit-remaining"]) == cost["remaining"]
    assert "x-ratelimit-reset" in response.headers


async def test_more_tasks_per_page_cost_more(client: httpx.AsyncClient, crew: Crew) -> None:
    costs = []
    for size in (5, 50):
        response = await client.post(
            "/graphql",
            json={"query": TASK_PAGE, "variables": {"n": size}},
            headers=bearer(token_of(crew, "author")),
        )
        costs.append(response.json()["extensions"]["cost"]["requested"])
    assert costs[1] > costs[0] * 5


async def test_an_operation_over_the_cost_limit_is_refused_before_it_runs(
    services: Services, crew: Crew
) -> None:
    async with server(services, cost_limit_per_operation=50) as http:
        response = await http.post(
            "/graphql",
            json={"query": TASK_PAGE, "variables": {"n": 100}},
            headers=bearer(token_of(crew, "author")),
        )
    error = error_of(response)
    assert response.status_code == 400
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    assert error["extensions"]["limit"] == 50
    assert f"costs {error['extensions']['cost']}" in error["message"]
    assert "limit of 50" in error["message"]
    assert "data" not in response.json()


async def test_a_drained_bucket_answers_429_and_the_refused_write_changes_nothing(
    services: Services, crew: Crew
) -> None:
    before = await _title(services, crew.task_id)
    variables = await _rename_input(crew.clients["owner"], crew.task_id, "written while over budget")
    auth = bearer(token_of(crew, "owner"))
    async with server(services, cost_bucket_capacity=120, cost_restore_rate=0.01) as http:
        # Given a budget spent on pages of tasks
        statuses = []
        for _ in range(10):
            page = await http.post(
                "/graphql", json={"query": TASK_PAGE, "variables": {"n": 30}}, headers=auth
            )
            statuses.append(page.status_code)
            if page.status_code == 429:
                break
        assert statuses[-1] == 429, statuses
        # And on cheap queries until even those are refused
        for _ in range(100):
            cheap = await http.post("/graphql", json={"query": VIEWER}, headers=auth)
            if cheap.status_code == 429:
                break
        assert cheap.status_code == 429
        # When a mutation asks for more than is left
        refused = await http.post(
            "/graphql", json={"query": TASK_TITLE, "variables": variables}, headers=auth
        )
    # Then it is refused with a wait, the code, and the budget
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = error_of(refused)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(refused.headers["retry-after"])
    cost = refused.json()["extensions"]["cost"]
    assert (cost["limit"], cost["remaining"]) == (120, 0)
    # And nothing was written
    assert await _title(services, crew.task_id) == before


async def test_the_bucket_refills(services: Services, crew: Crew) -> None:
    auth = bearer(token_of(crew, "colleague"))
    async with server(services, cost_bucket_capacity=150, cost_restore_rate=50.0) as http:
        # Given a bucket drained until refused
        for _ in range(100):
            page = await http.post(
                "/graphql", json={"query": TASK_PAGE, "variables": {"n": 30}}, headers=auth
            )
            if page.status_code == 429:
                break
        assert page.status_code == 429
        # When the wait it named has passed
        await asyncio.sleep(int(page.headers["retry-after"]))
        # Then the same request is served again
        again = await http.post("/graphql", json={"query": TASK_PAGE, "variables": {"n": 30}}, headers=auth)
        assert again.status_code == 200, again.text


async def test_refusals_cost_their_principal_until_it_is_refused_before_parsing(
    services: Services, crew: Crew
) -> None:
    auth = bearer(token_of(crew, "reader"))
    async with server(
        services, cost_bucket_capacity=300, cost_restore_rate=0.01, refused_request_cost=100
    ) as http:
        # Given a client that sends only documents that do not validate
        codes = []
        for number in range(5):
            bad = await http.post("/graphql", json={"query": f"{{ nope{number} }}"}, headers=auth)
            codes.append(error_of(bad)["extensions"]["code"])
        # Then they are refused for what they are until one could not pay its price (the fourth), and
        # from then on for the spent budget
        assert codes[:4] == ["GRAPHQL_VALIDATION_FAILED"] * 4, codes
        assert codes[4:] == ["RATE_LIMITED"], codes
        # And a valid query is refused as well, with a wait to honour
        valid = await http.post("/graphql", json={"query": VIEWER}, headers=auth)
    assert valid.status_code == 429
    assert int(valid.headers["retry-after"]) >= 1


async def test_apqs_first_hashed_request_costs_nothing(services: Services, crew: Crew) -> None:
    auth = bearer(token_of(crew, "reader"))
    async with server(
        services, cost_bucket_capacity=100, cost_restore_rate=0.01, refused_request_cost=100
    ) as http:
        for _ in range(3):
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(unique(VIEWER))}}
            missing = await http.post("/graphql", json={"extensions": extensions}, headers=auth)
            assert error_of(missing)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        ran = await http.post("/graphql", json={"query": VIEWER}, headers=auth)
    assert ran.status_code == 200, ran.text


def test_a_limit_is_found_before_validation() -> None:
    # Given a document that breaks the alias limit and names fields the schema does not have
    cache = DocumentCache(_SCHEMA, max_entries=4, max_tokens=5000, limits=query_limits(make_settings()))
    bomb = (
        "query { ...A ...A ...A } fragment A on Query { " + " ".join(f"a{i}: nope" for i in range(12)) + " }"
    )
    # Then the limit answers (validation, the costlier step, never ran)
    [error] = cache.get(bomb).errors
    assert error["extensions"]["code"] == "ALIAS_LIMIT_EXCEEDED"


# --- Static limits ---------------------------------------------------------------------------------------


def _aliases(count: int) -> str:
    return " ".join(f"a{i}: __typename" for i in range(count))


LIMIT_CASES = {
    "depth": (
        "{ viewer { projects { nodes { tasks { nodes { project { tasks { nodes { id } } } } } } } } }",
        {"max_query_depth": 6},
        "DEPTH_LIMIT_EXCEEDED",
    ),
    "aliases spread through a fragment": (
        "query { ...A ...A ...A } fragment A on Query { " + _aliases(12) + " }",
        {"max_query_aliases": 30},
        "ALIAS_LIMIT_EXCEEDED",
    ),
    "root fields through an inline fragment": (
        "query { ... on Query { a: __typename b: __typename c: __typename } d: __typename }",
        {"max_root_fields": 3},
        "ROOT_FIELD_LIMIT_EXCEEDED",
    ),
    "directives through a fragment": (
        "query { ...D ...D } "
        "fragment D on Query { __typename @skip(if: false) __typename @include(if: true) }",
        {"max_directives": 3},
        "DIRECTIVE_LIMIT_EXCEEDED",
    ),
    "tokens": ("{ " + "__typename " * 600 + "}", {"max_query_tokens": 500}, "TOKEN_LIMIT_EXCEEDED"),
}


@pytest.mark.parametrize("case", LIMIT_CASES.values(), ids=LIMIT_CASES.keys())
async def test_each_limit_refuses_with_a_readable_message(
    services: Services, crew: Crew, case: tuple[str, dict[str, Any], str]
) -> None:
    query, overrides, code = case
    # Given production settings, where unexpected errors are masked
    async with server(services, **PRODUCTION, **overrides) as http:
        auth = await production_login(http, crew.emails["author"])
        response = await http.post("/graphql", json={"query": query}, headers={**auth, "accept": JSON})
    # Then the limit answers with its code and a message naming it
    error = error_of(response)
    assert error["extensions"]["code"] == code
    assert "limit" in error["message"] or "tokens" in error["message"]
    assert "data" not in response.json()


# --- Production settings ---------------------------------------------------------------------------------


def test_production_turns_every_protection_on() -> None:
    settings = Settings(environment="production", jwt_secret="p" * 40)
    assert settings.trusted_documents_mode == "enforce"
    assert not settings.introspection_open
    assert not settings.graphiql_enabled
    assert not settings.suggestions_enabled
    assert settings.cors_origins == []


async def test_introspection_is_for_operators_in_production(
    services: Services, crew: Crew, gql: GraphQLClient
) -> None:
    introspection = "{ __schema { queryType { name } } }"
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == crew.ids["colleague"]).values(is_operator=True))
    async with server(services, **PRODUCTION) as http:
        user = await production_login(http, crew.emails["author"])
        operator = await production_login(http, crew.emails["colleague"])
        refused = await http.post("/graphql", json={"query": introspection}, headers=user)
        allowed = await http.post("/graphql", json={"query": introspection}, headers=operator)
        typename = await http.post("/graphql", json={"query": "{ __typename }"}, headers=user)
    assert (refused.status_code, error_of(refused)["extensions"]["code"]) == (403, "INTROSPECTION_DISABLED")
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert typename.json()["data"] == {"__typename": "Query"}


async def test_production_suggests_no_field_names(services: Services, crew: Crew) -> None:
    async with server(services, **PRODUCTION) as http:
        auth = await production_login(http, crew.emails["author"])
        response = await http.post("/graphql", json={"query": "{ viewr { id } }"}, headers=auth)
    error = error_of(response)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in error["message"]


# --- HTTP ------------------------------------------------------------------------------------------------


async def test_oversized_headers_get_431(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-pad": "x" * 20_000}
    )
    assert (response.status_code, error_of(response)["extensions"]["code"]) == (431, "BAD_USER_INPUT")


async def test_cors_allows_listed_origins_only(services: Services) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key, content-type",
    }
    async with server(services, cors_allowed_origins="https://app.example") as http:
        allowed = await http.options("/graphql", headers={"origin": "https://app.example", **preflight})
        other = await http.options("/graphql", headers={"origin": "https://evil.example", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


async def test_an_operation_past_the_timeout_while_the_database_works_gets_503(
    services: Services, crew: Crew
) -> None:
    # A deadline of a microsecond passes while the read waits on MariaDB: an outage to retry, since
    # MariaDB's own statement timeout (shorter than the deadline) should have ended a slow statement.
    async with server(services, execution_timeout_seconds=0.000_001) as http:
        response = await http.post(
            "/graphql",
            json={"query": TASK_PAGE, "variables": {"n": 50}},
            headers=bearer(token_of(crew, "author")),
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert error_of(response)["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryable": True}


async def test_mariadb_aborts_a_statement_past_its_timeout(database: str) -> None:
    settings = make_settings(db_statement_timeout_seconds=0.2)
    engine = create_engine(settings, statement_timeout=True)
    # A cross join of 506 rows cubed: far longer than 0.2 s
    slow = (
        "SELECT COUNT(*) FROM information_schema.collations a, information_schema.collations b, "
        "information_schema.collations c"
    )
    try:
        async with engine.connect() as conn:
            with pytest.raises(OperationalError, match="max_statement_time"):
                await conn.exec_driver_sql(slow)
    finally:
        await engine.dispose()
