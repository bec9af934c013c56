"""The HTTP policy around every route: a bound on the headers and the CORS rules.

- Headers: together at most ``max_header_bytes`` (431), refused before any handler reads them;
  uvicorn's httptools parser bounds single header lines only loosely, so a client could otherwise
  send hundreds of kilobytes of headers that every request pays to parse and carry.
- CORS: browsers may call from the listed origins only; the headers a client sends (the API key,
  the idempotency key, the CSRF preflight headers of schema/http/multipart.py) and reads (the budget)
  are named.
"""

from __future__ import annotations

import orjson
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from persistence.settings import Settings
from schema.core.errors import error_body


class HeaderSizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                await self._refuse(scope, send, size)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, size: int) -> None:
        if scope["type"] == "websocket":
            # Before the handshake: closing now answers the upgrade with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        message = f"request headers are {size} bytes, over the limit of {self.max_bytes}"
        body = orjson.dumps({"errors": [error_body("BAD_USER_INPUT", message)]})
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def http_middleware(settings: Settings) -> list[Middleware]:
    return [
        Middleware(HeaderSizeLimit, max_bytes=settings.max_header_bytes),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Api-Key",
                "Idempotency-Key",
                "Apollo-Require-Preflight",
                "X-Apollo-Operation-Name",
            ],
            expose_headers=[
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Retry-After",
                "ETag",
            ],
            max_age=600,
        ),
    ]
