"""`GET /attachments/{id}`: an attachment's bytes, to whoever may read its task.

The id is the Attachment's global id (what `Attachment.downloadUrl` links to). Authentication is the
GraphQL endpoint's bearer token, or the query of a signed link (`Attachment.signedDownloadUrl`,
resolvers/signed_links.py) for a browser's plain `<a href>`: neither gives 401, a changed or expired
link 403; an attachment of another organization, of a project the caller (or the link's user) does not
belong to, of a deleted task, or that does not exist gives 404 alike. The file is
always served as a download (`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, a
sandboxing CSP), so an uploaded HTML or script file never renders in the API's origin.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from persistence.storage import FileStore
from resolvers import attachments as resolvers
from resolvers import signed_links
from resolvers.context import RequestContext, Services
from resolvers.errors import DomainError, NotFound
from resolvers.principal import Principal
from schema.core.errors import INTERNAL_MESSAGE, error_body
from schema.core.ids import decode_id
from schema.core.request import RequestError
from schema.http.principals import bearer_principal

log = logging.getLogger("taskql.downloads")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"errors": [error_body(code, message)]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def content_disposition(filename: str) -> str:
    """Always a download; the UTF-8 name (RFC 6266/8187) with a plain ASCII fallback."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def answered(handle: Callable[[], Awaitable[Response]], what: str) -> Response:
    """A download's answer: its errors as JSON bodies with their codes (401 and the like from the
    request, 404, 400), and anything unexpected as a logged 500, never a stack trace."""
    try:
        return await handle()
    except RequestError as error:
        return error_response(error.status, error.code, error.message, error.headers)
    except NotFound as error:
        return error_response(404, error.code, error.message)
    except DomainError as error:
        return error_response(400, error.code, error.message)
    except Exception:
        log.exception("%s download failed", what)
        return error_response(500, "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE)


async def download_context(
    services: Services, request: Request, type_name: str, link_kind: str
) -> tuple[RequestContext, int]:
    """The context of a signed link's query (``link_kind``: what it must have been signed for; a
    changed or expired one: 403) or else of the bearer token (none: 401), and the database id of the
    ``{id}`` path parameter, a global id of ``type_name`` (any other: 404, as for an object the caller
    may not see)."""
    object_id: int | None
    principal: Principal | None
    try:
        object_id = decode_id(request.path_params["id"], type_name)
    except DomainError:
        object_id = None
    if signed_links.is_signed(request.query_params):
        # The id is part of what was signed: a link whose path names no object of the kind was changed
        # (0 is no row's id, so its signature never matches).
        principal = await _link_principal(services, request, link_kind, object_id or 0)
    else:
        principal = await bearer_principal(services, request)
    if principal is None:
        raise RequestError(
            401,
            "UNAUTHENTICATED",
            "use `Authorization: Bearer <access token>` or a signed link",
            {"WWW-Authenticate": "Bearer"},
        )
    if object_id is None:
        raise NotFound(type_name.lower())
    client = request.client.host if request.client else None
    return RequestContext(services, principal=principal, client_address=client), object_id


async def _link_principal(services: Services, request: Request, kind: str, object_id: int) -> Principal:
    try:
        link = signed_links.verify(services.settings, kind, object_id, request.query_params)
        return await signed_links.link_principal(services, link)
    except signed_links.LinkRefused as refused:
        raise RequestError(403, "FORBIDDEN", refused.message) from refused


class AttachmentDownloads:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = FileStore(services.settings.upload_root)

    async def handle(self, request: Request) -> Response:
        return await answered(lambda: self._handle(request), "attachment")

    async def _handle(self, request: Request) -> Response:
        ctx, attachment_id = await download_context(self.services, request, "Attachment", "attachment")
        row = await resolvers.attachment_for_download(ctx, attachment_id)
        path = self.store.path_of(row.storage_key)  # ValueError (a key leading outside the root): 500
        if not path.is_file():
            log.error("attachment %s has no file at its storage key", row.id)
            raise NotFound("attachment")
        headers = {
            "content-disposition": content_disposition(row.filename),
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "etag": f'"{row.sha256}"',
            "cache-control": "private, no-cache",
        }
        return FileResponse(path, media_type=row.content_type, headers=headers)
