"""The one middleware layer around every route, its effects in this order:

1. the request id (schema/http/request_id.py), bound first so every later log line, a refusal's
   too, carries it, and returned on every answer;
2. the HTTP metrics (schema/http/metrics.py), so a request the policy refuses is still counted;
3. the header bound (schema/http/policy.py): 431 before any handler reads the headers;
4. CORS (schema/http/policy.py), for requests that carry an ``Origin`` (CORS leaves the rest alone).

With tracing on, the request's span (OpenTelemetry's ASGI middleware, outside this layer: see
schema/http/tracing.py) gets the request id as ``taskql.request_id``.

One layer instead of four: the headers are scanned once for the id, the size and the origin, and a
request passes one ``send`` wrapper, not three.
"""

from __future__ import annotations

import time

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from persistence.logs import bind_request_id, unbind_request_id
from persistence.settings import Settings
from persistence.tracing import provider
from schema.http.metrics import HttpMetrics
from schema.http.policy import cors, refuse_oversized_headers
from schema.http.request_id import HEADER, request_id
from schema.http.tracing import REQUEST_ID

_ORIGIN = b"origin"


class Edge:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.with_cors = cors(app, settings)
        self.max_header_bytes = settings.max_header_bytes
        self.metrics = HttpMetrics()
        self.traced = provider() is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        size = 0
        offered = None
        has_origin = False
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name == HEADER:
                if offered is None:
                    offered = value
            elif name == _ORIGIN:
                has_origin = True
        identifier = request_id(offered)
        if self.traced:
            trace.get_current_span().set_attribute(REQUEST_ID, identifier)
        id_header = (HEADER, identifier.encode("ascii"))
        status = 500  # what the client sees when the app raises before it answers

        async def send_marked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list (the response may reuse its own), without an id the app set itself.
                message["headers"] = [*(h for h in message.get("headers", ()) if h[0] != HEADER), id_header]
            await send(message)

        bound = bind_request_id(identifier)
        try:
            if kind == "websocket":
                await self._forward(scope, receive, send_marked, size, with_cors=False)
                return
            started = time.perf_counter()
            try:
                await self._forward(scope, receive, send_marked, size, with_cors=has_origin)
            finally:
                self.metrics.observe(scope, status, time.perf_counter() - started)
        finally:
            unbind_request_id(bound)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, size: int, *, with_cors: bool
    ) -> None:
        if size > self.max_header_bytes:
            await refuse_oversized_headers(scope, send, size, self.max_header_bytes)
        else:
            # CORS leaves a request without an Origin (and a WebSocket) alone: no need to pass it.
            await (self.with_cors if with_cors else self.app)(scope, receive, send)
