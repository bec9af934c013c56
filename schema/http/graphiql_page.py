"""GraphiQL, served when ``graphiql_enabled`` (outside production): the page for a browser's GET of
/graphql, and its files under /graphiql/, all from this server, so it works offline.

The files are React, GraphiQL and the explorer plugin at pinned versions (schema/http/graphiql_assets.py
puts them in var/graphiql/) and the page's own script (graphiql_static/graphiql.js). The page sends
the ``Authorization`` header from its headers editor, prefilled with ``Bearer `` (or with the token of
a ``#token=`` fragment), over HTTP and in a subscription's ``connection_init``.

The Content-Security-Policy allows this origin alone: no inline script; inline styles, which React and
GraphiQL set on elements; the fonts GraphiQL's stylesheet embeds as data: URLs; fetches and the
WebSocket to this origin.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from schema.http.graphiql_assets import ASSET_DIR, ASSET_NAMES, SCRIPTS, STYLESHEETS, missing_assets

PAGE_SCRIPT = Path(__file__).parent / "graphiql_static" / "graphiql.js"
PREFIX = "/graphiql"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# A file's name carries its version: a browser may keep it for good.
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
_STYLE = "html, body { height: 100%; margin: 0; } #graphiql { height: 100vh; }"


def _page() -> str:
    links = "".join(f'<link rel="stylesheet" href="{PREFIX}/{name}">\n' for name in STYLESHEETS)
    scripts = "".join(f'<script src="{PREFIX}/{name}"></script>\n' for name in (*SCRIPTS, "graphiql.js"))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>taskql · GraphiQL</title>\n"
        f"{links}<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<div id="graphiql">Loading…</div>\n{scripts}</body>\n</html>\n'
    )


def _missing_page(missing: list[str]) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>taskql · GraphiQL</title>'
        "</head>\n<body>\n<h1>GraphiQL's files are not on this server</h1>\n"
        "<p>Run <code>make graphiql</code> (or <code>make run</code>, which runs it): it fetches them "
        "once from the npm registry into <code>var/graphiql/</code>.</p>\n"
        f"<p>Missing: {', '.join(missing)}</p>\n</body>\n</html>\n"
    )


def graphiql_response() -> Response:
    """The page, or 503 with what to run when its files were never fetched."""
    missing = missing_assets()
    if missing:
        return HTMLResponse(_missing_page(missing), status_code=503, headers=PAGE_HEADERS)
    return HTMLResponse(_page(), headers=PAGE_HEADERS)


async def _asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "graphiql.js":
        # The page's own script changes with the code: revalidated, not kept.
        return FileResponse(
            PAGE_SCRIPT, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )
    path = ASSET_DIR / name
    if name not in ASSET_NAMES or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    media_type = "text/css; charset=utf-8" if name.endswith(".css") else "text/javascript; charset=utf-8"
    return FileResponse(path, media_type=media_type, headers=ASSET_HEADERS)


def graphiql_routes() -> list[Route]:
    return [Route(PREFIX + "/{name}", _asset, methods=["GET"])]
