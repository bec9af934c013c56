"""A third-party integration of taskql: an API key, a registered manifest, and calls by `documentId`.

    python examples/third_party/sync_tasks.py "Nightly import"

Settings (environment):
    TASKQL_URL                 the server (default http://127.0.0.1:8000)
    TASKQL_API_KEY             the key to call with; unset: one is made with the admin's login below
    TASKQL_ADMIN_EMAIL, TASKQL_ADMIN_PASSWORD
                               an organization owner or admin, to make the key (`apiKeyCreateV2`)
    TASKQL_OPERATOR_EMAIL, TASKQL_OPERATOR_PASSWORD
                               a platform operator, to register manifest.json (`trustedDocumentsRegisterV2`);
                               unset: it was registered beforehand, with
                               `make documents FILE=examples/third_party/manifest.json CLIENT=acme-sync`

An API key runs trusted documents only: the integration never sends query text, only the ids of its
manifest's operations (immutable: a changed operation gets a new id). Needs httpx alone.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

MANIFEST = Path(__file__).with_name("manifest.json")
CLIENT_NAME = "acme-sync"

LOGIN = """mutation($input: AuthLoginInput!) { authLogin(input: $input) { accessToken } }"""
KEY_CREATE = """mutation($input: ApiKeyCreateInput!) {
  apiKeyCreateV2(input: $input) { errors { field code message } key apiKey { prefix scope } } }"""
REGISTER = """mutation($input: TrustedDocumentsRegisterInput!) {
  trustedDocumentsRegisterV2(input: $input) { errors { field code message } registered unchanged } }"""


class ApiError(Exception):
    """A request the server refused: its HTTP status and the errors it gave."""


def graphql(
    http: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The `data` of one request; a top-level error (or a non-2xx answer) raises ApiError."""
    response = http.post("/graphql", json=body, headers=headers or {})
    answer = response.json()
    if response.is_error or answer.get("errors"):
        raise ApiError(f"HTTP {response.status_code}: {json.dumps(answer.get('errors'))}")
    data: dict[str, Any] = answer["data"]
    return data


def payload(data: dict[str, Any], field: str) -> dict[str, Any]:
    """A mutation's payload; its expected failures (`errors`) raise ApiError."""
    result: dict[str, Any] = data[field]
    if result["errors"]:
        raise ApiError(f"{field}: {json.dumps(result['errors'])}")
    return result


def bearer(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    data = graphql(http, {"query": LOGIN, "variables": {"input": {"email": email, "password": password}}})
    return {"authorization": f"Bearer {data['authLogin']['accessToken']}"}


def api_key(http: httpx.Client) -> str:
    """TASKQL_API_KEY, or a new READ_WRITE key made by the admin (shown once: keep it)."""
    if key := os.environ.get("TASKQL_API_KEY"):
        print("api key: from TASKQL_API_KEY")
        return key
    admin = bearer(http, os.environ["TASKQL_ADMIN_EMAIL"], os.environ["TASKQL_ADMIN_PASSWORD"])
    variables = {"input": {"name": "acme-sync", "scope": "READ_WRITE"}}
    made = payload(graphql(http, {"query": KEY_CREATE, "variables": variables}, admin), "apiKeyCreateV2")
    print(f"api key: created {made['apiKey']['prefix']} ({made['apiKey']['scope']})")
    return str(made["key"])


def register_manifest(http: httpx.Client) -> None:
    """Registration is an operator's act; an id already registered with the same body is `unchanged`."""
    email = os.environ.get("TASKQL_OPERATOR_EMAIL")
    if email is None:
        print("manifest: registered beforehand")
        return
    operator = bearer(http, email, os.environ["TASKQL_OPERATOR_PASSWORD"])
    variables = {"input": {"clientName": CLIENT_NAME, "manifest": json.loads(MANIFEST.read_text())}}
    done = payload(
        graphql(http, {"query": REGISTER, "variables": variables}, operator), "trustedDocumentsRegisterV2"
    )
    print(f"manifest: {done['registered']} registered, {done['unchanged']} unchanged")


def call(
    http: httpx.Client,
    key: str,
    document_id: str,
    variables: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """One trusted document by id: no query text leaves the integration."""
    headers = {"x-api-key": key}
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key  # a retry of this write writes nothing twice
    return graphql(http, {"documentId": document_id, "variables": variables or {}}, headers)


def main(title: str) -> None:
    with httpx.Client(base_url=os.environ.get("TASKQL_URL", "http://127.0.0.1:8000"), timeout=10) as http:
        key = api_key(http)
        register_manifest(http)
        projects = call(http, key, "acme-sync.Projects.v1")["projects"]["nodes"]
        print("projects:", ", ".join(p["key"] for p in projects))
        variables = {"input": {"projectId": projects[0]["id"], "title": title}}
        created = payload(
            call(http, key, "acme-sync.CreateTask.v1", variables, idempotency_key=str(uuid.uuid4())),
            "taskCreate",
        )["task"]
        print(f"created: {created['key']} {created['title']!r} ({created['status']})")
        read = call(http, key, "acme-sync.TaskByKey.v1", {"key": created["key"]})["taskByKey"]
        print(f"read back: {read['key']} in {read['project']['key']}")


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else "Imported by acme-sync")
    except (ApiError, httpx.HTTPError, KeyError) as error:
        sys.exit(f"acme-sync: {error}")
