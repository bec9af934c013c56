"""The outermost middleware: the request id first (so every later log line, a refusal's too, carries
it), then the HTTP metrics (so a request refused by the HTTP policy is still counted)."""

from __future__ import annotations

from starlette.middleware import Middleware

from schema.http.metrics import HttpMetrics
from schema.http.request_id import RequestId


def observability_middleware() -> list[Middleware]:
    return [Middleware(RequestId), Middleware(HttpMetrics)]
