"""The embedded default, as a user starts it: `python -m schema serve` with no services configured
(SQLite, in-process Redis), migrated and seeded with the demo organization on first start."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobs.password_reset import reset_token
from persistence.db import create_engine
from persistence.models.base import utcnow
from persistence.queries.password_resets import insert_reset
from persistence.seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SIZES
from persistence.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = (ROOT / "perf" / "operations" / "dashboard.graphql").read_text()
STARTUP_SECONDS = 90
SEARCH = """
query($q: String!) {
  searchTasks(query: $q, first: 10) { totalCount nodes { title description project { key } } }
}"""
COUNTS = "{ users { totalCount } projects(archived: null) { totalCount } tasks { totalCount } }"


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not healthy within {STARTUP_SECONDS} s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server on a fresh SQLite file and a free port, without periodic jobs and with the
    slow-query error lines out of reach; nothing else of TASKQL_ is set."""
    tmp = tmp_path_factory.mktemp("embedded")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {"TASKQL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/embedded.db", "TASKQL_PORT": str(port)}
    # No SMTP server here: the demo's tasks due today must not start email jobs that cannot succeed
    # (tests/jobs/test_schedule.py runs the embedded scheduler against a sink).
    env["TASKQL_CRON_ENABLED"] = "false"
    # The stop's test forbids any ERROR line; on a saturated machine the demo seed's SQLite inserts
    # pass the slow-query thresholds (an ERROR from 500 ms), which is the machine, not the stop.
    env |= {"TASKQL_SLOW_QUERY_ERROR_MS": "60000", "TASKQL_SLOW_QUERY_CRITICAL_MS": "60000"}
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "schema", "serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _graphql(server: Server, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{server.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_graphiql_is_served_to_browsers_in_development(server: Server) -> None:
    # When a browser opens the endpoint of the embedded default (development)
    response = httpx.get(f"{server.base_url}/graphql", headers={"accept": "text/html"}, timeout=10)
    # Then it gets the GraphiQL page
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_the_embedded_default_serves_the_demo_organization(server: Server) -> None:
    # Given the embedded server, started with no services, migrated and seeded on first start
    assert "demo login demo@taskql.dev" in server.output()
    # When the demo user logs in
    login = _graphql(
        server,
        "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }",
        {"e": DEMO_EMAIL, "p": DEMO_PASSWORD},
    )
    token = login["authLogin"]["accessToken"]
    # Then the dashboard shows the demo organization
    viewer = _graphql(server, DASHBOARD, {"first": 10}, token)["viewer"]
    assert viewer["user"]["email"] == DEMO_EMAIL
    assert viewer["organization"]["slug"] == "demo"
    assert viewer["projects"]["totalCount"] == DEMO_SIZES.projects
    assert len(viewer["projects"]["nodes"]) == 10
    assert 0 < viewer["assignedTasks"]["totalCount"] < DEMO_SIZES.tasks
    assert len(viewer["assignedTasks"]["nodes"]) == 10
    # And every demo row is there
    counts = _graphql(server, COUNTS, {}, token)
    assert counts["users"]["totalCount"] == DEMO_SIZES.users
    assert counts["projects"]["totalCount"] == DEMO_SIZES.projects
    assert counts["tasks"]["totalCount"] == DEMO_SIZES.tasks
    # And full-text search (SQLite FTS5 here) finds the word in what it returns
    found = _graphql(server, SEARCH, {"q": "latency"}, token)["searchTasks"]
    assert found["totalCount"] > 10
    assert len(found["nodes"]) == 10
    for node in found["nodes"]:
        assert "latency" in (node["title"] + " " + node["description"]).lower()
    # And FTS5 syntax in the text is only text
    odd = _graphql(server, SEARCH, {"q": 'latency* NEAR(" OR -'}, token)["searchTasks"]
    assert odd["totalCount"] == found["totalCount"]


REGISTER = (
    "mutation($i: TrustedDocumentsRegisterInput!) "
    "{ trustedDocumentsRegisterV2(input: $i) { registered errors { code } } }"
)


def test_the_demo_user_is_a_platform_operator(server: Server) -> None:
    # Given the demo user signed in (before the password reset below changes their password)
    token = _graphql(server, LOGIN, {"e": DEMO_EMAIL, "p": DEMO_PASSWORD})["authLogin"]["accessToken"]
    # When they do what only platform operators may (as /ops's subscription is): register a document
    manifest = {"demo-viewer": "query DemoViewer { viewer { user { id } } }"}
    registered = _graphql(server, REGISTER, {"i": {"clientName": "demo", "manifest": manifest}}, token)
    # Then it is done, where anyone else is FORBIDDEN
    assert registered["trustedDocumentsRegisterV2"] == {"registered": 1, "errors": []}


RESET_REQUEST = (
    "mutation($e: String!) { passwordResetRequest(input: {email: $e}) { accepted errors { code } } }"
)
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"
RESET_CONFIRM = """
mutation($t: String!, $p: String!) {
  passwordResetConfirm(input: {token: $t, newPassword: $p}) { passwordChanged errors { field code } } }"""


async def test_a_password_reset_works_on_sqlite(server: Server) -> None:
    # Given the embedded server: asking for an unknown email's reset is answered like any other
    accepted = _graphql(server, RESET_REQUEST, {"e": "nobody@taskql.dev"})["passwordResetRequest"]
    assert accepted == {"accepted": True, "errors": []}
    # And a reset of the demo user's, written by the same query (no email job: no SMTP server here)
    nonce, secret = "0" * 32, Settings.model_fields["jwt_secret"].default
    token = reset_token(secret, nonce)
    database = f"sqlite+aiosqlite:///{server.log.parent}/embedded.db"
    engine = create_engine(Settings(database_url=database), null_pool=True)
    try:
        async with engine.begin() as conn:
            now = utcnow()
            reset_id = await insert_reset(
                conn,
                email=DEMO_EMAIL,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                nonce=nonce,
                now=now,
                expires_at=now + timedelta(hours=1),
            )
    finally:
        await engine.dispose()
    assert reset_id is not None
    # When its token confirms a new password, twice
    variables = {"t": token, "p": "an embedded passphrase"}
    first = _graphql(server, RESET_CONFIRM, variables)["passwordResetConfirm"]
    second = _graphql(server, RESET_CONFIRM, variables)["passwordResetConfirm"]
    # Then the first sets it and the second is refused
    assert first == {"passwordChanged": True, "errors": []}
    assert second == {"passwordChanged": False, "errors": [{"field": "token", "code": "INVALID"}]}
    login = (
        "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"
    )
    assert _graphql(server, login, {"e": DEMO_EMAIL, "p": "an embedded passphrase"})["authLogin"][
        "accessToken"
    ]


def test_the_embedded_default_stops_cleanly_on_sigterm(server: Server) -> None:
    """Runs last in this module: it stops the module's server.

    uvicorn shuts down gracefully on SIGTERM and then re-raises the signal with its default handler,
    so a clean stop ends "killed by SIGTERM" (143 in a shell) after the application's shutdown ran.
    """
    # When the running server is asked to stop
    assert server.process.poll() is None, server.output()
    server.process.send_signal(signal.SIGTERM)
    returncode = server.process.wait(timeout=30)
    # Then it ran the application's shutdown to the end and exited by the signal it was sent
    output = server.output()
    assert returncode == -signal.SIGTERM, output
    assert "Application shutdown complete" in output
    assert "Finished server process" in output
    assert "Traceback" not in output
    assert "ERROR" not in output
