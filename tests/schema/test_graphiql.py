"""GraphiQL in headless Chromium with no network beyond 127.0.0.1: its files come from the server
itself (fetched once from the npm registry into var/graphiql/), the page sends the token header, a
query runs and its result shows. Production serves none of it."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from perf.shared.server_process import ServerProcess, start_server
from schema.http.graphiql_assets import ASSET_NAMES, IntegrityError, fetch, missing_assets
from tests.schema.headless import opened_page
from tests.schema.ops_helpers import People, server_environment

QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
RESPONSE_EDITOR = "document.querySelector('.result-window .CodeMirror')"
# The headers editor: the tool shown (GraphiQL opens on it), not the hidden variables editor.
HEADERS_EDITOR = "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')"
ME = "query Me { viewer { user { email } } }"


@pytest.fixture(scope="module", autouse=True)
def assets() -> None:
    """What `make test` runs first: nothing to do when the files are there."""
    fetch()


def _email(server: ServerProcess, token: str) -> str:
    answer = httpx.post(
        f"{server.base_url}/graphql",
        json={"query": ME},
        headers={"authorization": f"Bearer {token}"},
        trust_env=False,
    )
    email: str = answer.json()["data"]["viewer"]["user"]["email"]
    return email


def test_the_page_loads_nothing_from_elsewhere(ops_server: ServerProcess) -> None:
    page = httpx.get(f"{ops_server.base_url}/graphql", headers={"accept": "text/html"}, trust_env=False)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text  # every file by a path on this server
    for name in sorted(ASSET_NAMES):
        assert f'"/graphiql/{name}"' in page.text
        asset = httpx.get(f"{ops_server.base_url}/graphiql/{name}", trust_env=False)
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
    unknown = httpx.get(f"{ops_server.base_url}/graphiql/..%2Fpyproject.toml", trust_env=False)
    assert unknown.status_code == 404


async def test_a_query_runs_offline_with_the_token_header(
    chromium: str, ops_server: ServerProcess, people: People, tmp_path: Path
) -> None:
    expected = _email(ops_server, people.member_token)
    url = f"{ops_server.base_url}/graphql#token={people.member_token}"
    async with opened_page(chromium, url, tmp_path, offline=True) as page:
        # Given GraphiQL rendered, with the explorer plugin, from this server's files alone
        assert await page.wait_until(f"{QUERY_EDITOR} && {QUERY_EDITOR}.CodeMirror", 30), await page.evaluate(
            "document.body.innerText"
        )
        assert await page.evaluate("typeof window.GraphiQLPluginExplorer.explorerPlugin === 'function'")
        assert await page.evaluate("!!document.querySelector('[aria-label*=\"Explorer\"]')")
        headers = json.loads(await page.evaluate(f"{HEADERS_EDITOR}.CodeMirror.getValue()"))
        assert headers == {"Authorization": f"Bearer {people.member_token}"}
        assert people.member_token not in await page.evaluate("window.location.href")
        # When a query that needs the token is run (once the schema is in: before, GraphiQL runs nothing)
        schema_loaded = f"{QUERY_EDITOR}.CodeMirror.options.hintOptions.schema"
        assert await page.wait_until(schema_loaded, 15)
        await page.evaluate(f"{QUERY_EDITOR}.CodeMirror.setValue({json.dumps(ME)})")
        # GraphiQL takes an edit in after a debounce, then stores it: run before, it runs the old one
        assert await page.wait_until(f"localStorage.getItem('graphiql:query') === {json.dumps(ME)}", 5)
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        # Then its result shows
        shown = f"{RESPONSE_EDITOR}.CodeMirror.getValue()"
        assert await page.wait_until(f"{shown}.includes('\"data\"')", 15), await page.evaluate(shown)
        result = json.loads(await page.evaluate(shown))
        loaded = await page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert result["data"] == {"viewer": {"user": {"email": expected}}}, result
    assert loaded
    assert all(name.startswith(ops_server.base_url) for name in loaded), loaded


@pytest.mark.usefixtures("database", "redis_url")
def test_production_serves_no_graphiql(tmp_path: Path) -> None:
    environment = {**server_environment(), "TASKQL_ENVIRONMENT": "production", "TASKQL_JWT_SECRET": "p" * 40}
    server = start_server(tmp_path / "server.log", environment)
    try:
        page = httpx.get(f"{server.base_url}/graphql", headers={"accept": "text/html"}, trust_env=False)
        asset = httpx.get(f"{server.base_url}/graphiql/graphiql-3.8.3.min.js", trust_env=False)
    finally:
        server.stop()
    assert "GraphiQL" not in page.text
    assert asset.status_code == 404


@pytest.fixture
def tampered_registry(tmp_path: Path) -> Iterator[str]:
    """A registry whose react tarball is not the pinned one."""
    root = tmp_path / "registry"
    (root / "react" / "-").mkdir(parents=True)
    (root / "react" / "-" / "react-18.3.1.tgz").write_bytes(b"not the pinned tarball")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as registry:
        threading.Thread(target=registry.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{registry.server_address[1]}"
        registry.shutdown()


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tampered_registry: str, tmp_path: Path) -> None:
    target = tmp_path / "assets"
    with pytest.raises(IntegrityError, match=r"react-18\.3\.1\.tgz"):
        fetch(target, registry=tampered_registry)
    assert missing_assets(target) == sorted(ASSET_NAMES)
