"""Headless Chromium driven over the DevTools protocol (no chromedriver): open a page, wait until a
script's condition holds in real time, read the DOM. ``--dump-dom`` cannot serve a live page: it
dumps at load, and virtual time does not wait for a WebSocket."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class _DevTools:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self.ws.send(json.dumps(message))
        while True:
            answer: dict[str, Any] = json.loads(await self.ws.recv())
            if answer.get("id") == call_id:
                assert "error" not in answer, answer
                result: dict[str, Any] = answer["result"]
                return result

    async def evaluate(self, session: str, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        return result["result"].get("value")


class Page:
    """One tab: evaluate JavaScript in it, wait for a condition."""

    def __init__(self, tools: _DevTools, session: str) -> None:
        self.tools = tools
        self.session = session

    async def evaluate(self, expression: str) -> Any:
        return await self.tools.evaluate(self.session, expression)

    async def wait_until(self, condition: str, within: float = 15.0) -> bool:
        """Whether the JavaScript expression ``condition`` became true within ``within`` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            if await self.evaluate(f"Boolean({condition})"):
                return True
            await asyncio.sleep(0.1)
        return False


# Every request but those to this machine goes to a proxy that is not there, and no name but
# 127.0.0.1 resolves: a page that needs the internet fails as it would offline.
OFFLINE = [
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@asynccontextmanager
async def opened_page(
    chromium: str, url: str, profile: Path, *, offline: bool = False
) -> AsyncIterator[Page]:
    """``url`` in a new headless Chromium (``offline``: with no network beyond 127.0.0.1)."""
    arguments = [chromium, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run"]
    arguments += [*(OFFLINE if offline else []), "--remote-debugging-port=0", f"--user-data-dir={profile}"]
    browser = await asyncio.create_subprocess_exec(
        *arguments, "about:blank", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert browser.stderr is not None
        endpoint = None
        for _ in range(200):
            line = (await asyncio.wait_for(browser.stderr.readline(), 30)).decode(errors="replace")
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                endpoint = found.group(1)
                break
        assert endpoint is not None, "chromium did not open its DevTools endpoint"
        async with connect(endpoint, proxy=None, max_size=None) as ws:
            tools = _DevTools(ws)
            target = await tools.call("Target.createTarget", url=url)
            attached = await tools.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
            yield Page(tools, attached["sessionId"])
    finally:
        browser.kill()
        await browser.wait()


async def page_dom(chromium: str, url: str, profile: Path, until: str, within: float = 15.0) -> str:
    """The DOM of ``url`` once the JavaScript expression ``until`` is true (or ``within`` ran out)."""
    async with opened_page(chromium, url, profile) as page:
        await page.wait_until(until, within)
        dom: str = await page.evaluate("document.documentElement.outerHTML")
        return dom
