"""The HTTP policy around every route: a bound on the headers and the CORS rules (applied by
schema/http/edge.py).

- Headers: together at most ``max_header_bytes`` (431), refused before any handler reads them;
  uvicorn's httptools parser bounds single header lines only loosely, so a client could otherwise
  send hundreds of kilobytes of headers that every request pays to parse and carry.
- CORS: browsers may call from the listed origins only (and, in development, from any local dev
  server: ``local_origins``); the headers a client sends (the API key,
  the idempotency key, the CSRF preflight headers of schema/http/multipart.py) and reads (the budget)
  are named.
"""

from __future__ import annotations

import orjson
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Scope, Send

from persistence.settings import Settings
from schema.core.errors import error_body


async def refuse_oversized_headers(scope: Scope, send: Send, size: int, max_bytes: int) -> None:
    if scope["type"] == "websocket":
        # Before the handshake: closing now answers the upgrade with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    message = f"request headers are {size} bytes, over the limit of {max_bytes}"
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


def cors(app: ASGIApp, settings: Settings) -> CORSMiddleware:
    """The CORS rules around ``app``; the edge calls it only for requests that carry an ``Origin``."""
    return CORSMiddleware(
        app,
        allow_origins=settings.cors_origins,
        # Matched whole (fullmatch): http://localhost.evil.example is not a local origin.
        allow_origin_regex=settings.local_origin_pattern,
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
    )
