"""`/ops`: the live ops page, served by the app itself (HTML, a script and a stylesheet, no CDN).

The page signs in an operator (or takes a token from the URL fragment, which no server sees) and
subscribes to `opsMetrics` over graphql-transport-ws on this server's own /graphql. The page holds
nothing secret: what it shows comes from the subscription, which is for operators only.

The Content-Security-Policy allows this origin alone: scripts and styles from the two routes beside
the page (no inline code), fetches and the WebSocket to this origin ('self' covers ws: and wss: of the
same host in CSP 3), no frames. The WebSocket's Origin check still applies: the page's origin must be
in TASKQL_WS_ALLOWED_ORIGINS (development adds the server's own address by itself).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "ops_static"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _file(name: str, media_type: str) -> Route:
    body = (STATIC / name).read_bytes()  # read once: the files ship with the code

    async def serve(_request: Request) -> Response:
        return Response(body, media_type=media_type, headers=HEADERS)

    return Route("/ops" if name == "ops.html" else f"/{name}", serve, methods=["GET"])


def ops_page_routes() -> list[Route]:
    return [
        _file("ops.html", "text/html; charset=utf-8"),
        _file("ops.js", "text/javascript; charset=utf-8"),
        _file("ops.css", "text/css; charset=utf-8"),
    ]
