"""``GET /metrics``: Prometheus's text format, of every server process when there are several.

It asks for no credentials (Prometheus scrapes it): deployments keep it on an internal network, or
turn it off with ``TASKQL_METRICS_ENABLED=false``. Rendering reads the queue depths from Redis (a
bounded, blocking read), so it runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from jobs.queue_depth import queue_depth_collector
from persistence.metrics_export import render, scrape_registry
from persistence.settings import Settings


class MetricsEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.registry = scrape_registry(queue_depth_collector(settings))

    async def handle(self, _request: Request) -> Response:
        body = await asyncio.to_thread(render, self.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
