"""The /ops page in headless Chromium (Debian's `chromium`) against a real server: live figures for
an operator, the refusal for a member, read from the DOM as the page renders it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from perf.shared.server_process import ServerProcess
from persistence.seed import SeededOrganization
from tests.schema.headless import page_dom
from tests.schema.ops_helpers import People, traffic

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
# The page has rendered a tick that counted the traffic's read.
LIVE_WITH_TRAFFIC = (
    "document.body.dataset.state === 'live' && "
    "Number((document.getElementById('classes-read') || {dataset: {}}).dataset.count) > 0"
)


def _row(dom: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}"[^>]*>.*?</tr>', dom, re.S)
    assert found is not None, dom
    return found.group(0)


def test_the_page_is_served_with_a_policy_allowing_only_this_origin(ops_server: ServerProcess) -> None:
    page = httpx.get(f"{ops_server.base_url}/ops", trust_env=False)
    script = httpx.get(f"{ops_server.base_url}/ops.js", trust_env=False)
    assert page.status_code == script.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert '<script src="/ops.js"' in page.text
    assert "<script>" not in page.text  # no inline code for the policy to allow
    assert script.headers["content-type"].startswith("text/javascript")


async def test_an_operator_sees_live_figures(
    chromium: str, ops_server: ServerProcess, people: People, tmp_path: Path
) -> None:
    # Given a read and a list on the server
    traffic(ops_server.base_url, people.operator_token)
    # When an operator opens the page with the token in the fragment
    url = f"{ops_server.base_url}/ops#token={people.operator_token}&interval=1"
    dom = await page_dom(chromium, url, tmp_path, until=LIVE_WITH_TRAFFIC)
    # Then it is live, with the requests counted per class and the queues' rows
    assert 'data-state="live"' in dom, dom
    for op_class in ("read", "list"):
        count = re.search(r'data-count="(\d+)"', _row(dom, f"classes-{op_class}"))
        assert count is not None
        assert int(count.group(1)) >= 1
    for queue in ("high", "default", "low"):
        assert 'class="status-' in _row(dom, f"queues-{queue}")
    assert people.operator_token not in dom


async def test_a_member_sees_the_refusal_and_no_figures(
    chromium: str, ops_server: ServerProcess, people: People, tmp_path: Path
) -> None:
    url = f"{ops_server.base_url}/ops#token={people.member_token}"
    dom = await page_dom(chromium, url, tmp_path, until="document.body.dataset.state === 'refused'")
    assert 'data-state="refused"' in dom, dom
    assert "FORBIDDEN" in dom
    assert '<tr id="classes-' not in dom
