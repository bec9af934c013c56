"""`GET /reports/{id}.csv` and `GET /reports/{id}.html`: a succeeded report's files.

The id is the Report's global id (what `Report.csvUrl` and `htmlUrl` link to). Authentication is the
GraphQL endpoint's bearer token or a signed link (`signedCsvUrl`, `signedHtmlUrl`), as for attachments
(schema/http/downloads.py): neither gives 401, a changed or expired link 403; a report of
another organization, of a project the caller may not read, one not built yet (or failed), or one that
does not exist gives 404 alike. The CSV is a download; the HTML page renders, but under a CSP that
allows nothing but its inline style (no script, no request, sandboxed) and with `nosniff`.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from persistence.enums import ReportStatus
from persistence.report_files import ReportStore
from resolvers import reports as resolvers
from resolvers.context import Services
from resolvers.errors import NotFound
from schema.http.downloads import answered, content_disposition, download_context

log = logging.getLogger("taskql.downloads")

_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}
_CSP = {
    "csv": "default-src 'none'; sandbox",
    "html": "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; "
    "frame-ancestors 'none'; sandbox",
}


class ReportDownloads:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = ReportStore(services.settings.report_root)

    async def csv(self, request: Request) -> Response:
        return await self._respond(request, "csv")

    async def html(self, request: Request) -> Response:
        return await self._respond(request, "html")

    async def _respond(self, request: Request, extension: str) -> Response:
        return await answered(lambda: self._handle(request, extension), "report")

    async def _handle(self, request: Request, extension: str) -> Response:
        ctx, report_id = await download_context(self.services, request, "Report", f"report.{extension}")
        row = await resolvers.report(ctx, report_id)
        if row.status != ReportStatus.SUCCEEDED or row.storage_key is None:
            raise NotFound("report")
        path = self.store.path_of(row.storage_key, extension)  # ValueError (outside the root): 500
        if not path.is_file():
            log.error("report %s has no %s file at its storage key", row.id, extension)
            raise NotFound("report")
        headers = {
            "x-content-type-options": "nosniff",
            "content-security-policy": _CSP[extension],
            "cache-control": "private, no-cache",
        }
        if extension == "csv":
            headers["content-disposition"] = content_disposition(f"report-{row.id}.csv")
        return FileResponse(path, media_type=_MEDIA_TYPES[extension], headers=headers)
