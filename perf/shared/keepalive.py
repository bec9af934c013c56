"""One keep-alive HTTP/1.1 connection on raw asyncio streams, one request at a time.

The benches' clients: httpx's pool costs the load generator more CPU than the servers it measures once
requests queue. The servers under test always answer with a Content-Length.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit


class KeepAlive:
    """POSTs to one URL with fixed headers (a bearer token, an API key, or none)."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        self._host, self._port, self._path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head = f"POST {self._path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{fixed}"
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """The answer's status and body; a broken connection raises and is reopened by the next call."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        writer.write(f"{self._head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                (
                    int(v)
                    for n, _, v in (line.partition(":") for line in lines[1:])
                    if n.lower() == "content-length"
                ),
                0,
            )
            return int(lines[0].split(" ", 2)[1]), await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
