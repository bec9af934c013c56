"""``http_requests_total`` and ``http_request_duration_seconds`` per method and route template.

The label is the matched route's path template (``/attachments/{id}``), never the raw path, so the
number of series is bounded by the routes; what matched no route counts as ``unmatched``.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from persistence.metrics import HTTP_DURATION, HTTP_REQUESTS

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    # Starlette's router leaves the route it matched in the scope it shares with the middleware.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when the app raises before it answers

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            method = scope["method"]
            route = route_template(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
