"""``http_requests_total`` and ``http_request_duration_seconds`` per method and route template.

The label is the matched route's path template (``/attachments/{id}``), never the raw path, so the
number of series is bounded by the routes; what matched no route counts as ``unmatched``.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from persistence.metrics import HTTP_DURATION, HTTP_REQUESTS

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    # Starlette's router leaves the route it matched in the scope it shares with the middleware.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetrics:
    """Records one answered request. The labelled series are looked up once per label set and kept:
    ``labels()`` takes a lock and builds the label tuple on every call."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method: str = scope["method"]
        route = route_template(scope)
        counter = self._requests.get((method, route, status))
        if counter is None:
            counter = self._requests[method, route, status] = HTTP_REQUESTS.labels(method, route, str(status))
        counter.inc()
        histogram = self._durations.get((method, route))
        if histogram is None:
            histogram = self._durations[method, route] = HTTP_DURATION.labels(method, route)
        histogram.observe(seconds)
