"""Project reports: the Report type, reportRequest, and the reads (``report(id:)``, ``node(id:)``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from persistence.enums import ReportKind, ReportStatus
from persistence.records import ReportRecord
from resolvers import reports as resolvers
from resolvers.context import RequestContext
from resolvers.mutations import MutationResult
from resolvers.signed_links import signed_url
from schema.core.described import graphql_enum
from schema.core.ids import decode_id, encode_id
from schema.core.node import Node
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.projects.types import Project
from schema.users.types import User

Ctx = Info[RequestContext, None]
graphql_enum(
    ReportKind,
    name="ReportKind",
    description="What a report shows.",
    values={"STATUS": "Tasks by status and assignee, and the weekly throughput, with a chart."},
)
graphql_enum(
    ReportStatus,
    name="ReportStatus",
    description="Where a report's build stands.",
    values={
        "QUEUED": "Waiting for a worker.",
        "RUNNING": "Being built.",
        "SUCCEEDED": "Built: its files can be downloaded.",
        "FAILED": "Failed for good (see `error`).",
    },
)


@strawberry.type(description="A project report, built by a background job; its files once it succeeded.")
class Report(Node):
    kind: ReportKind = strawberry.field(description="What the report shows.")
    status: ReportStatus = strawberry.field(description="Where its build stands.")
    attempts: int = strawberry.field(description="Build attempts started (the first and its retries).")
    error: str | None = strawberry.field(description="Why it failed, once it has failed for good.")
    created_at: datetime = strawberry.field(description="When it was asked for.")
    finished_at: datetime | None = strawberry.field(
        description="When its build ended (succeeded or failed for good); null before."
    )
    csv_url: str | None = strawberry.field(
        description="Null until it succeeded. GET it with the same `Authorization: Bearer` header as "
        "GraphQL; served as a download."
    )
    html_url: str | None = strawberry.field(
        description="Null until it succeeded. The report as a page with a chart; same authorization."
    )
    project: Project = strawberry.field(description="The project it reports on.")
    requested_by: User = strawberry.field(description="Who asked for it.")
    _database_id: strawberry.Private[int]

    @strawberry.field(
        description="Null until it succeeded. `csvUrl` as an absolute link that needs no header (for a "
        "plain `<a href>`), signed for this report and the viewer; it works for a few minutes "
        "(`TASKQL_SIGNED_URL_TTL_SECONDS`), then gets 403."
    )
    def signed_csv_url(self, info: Ctx) -> str | None:
        return self._signed(info, self.csv_url, "report.csv")

    @strawberry.field(
        description="Null until it succeeded. `htmlUrl` as a signed link, as `signedCsvUrl` is."
    )
    def signed_html_url(self, info: Ctx) -> str | None:
        return self._signed(info, self.html_url, "report.html")

    def _signed(self, info: Ctx, path: str | None, kind: str) -> str | None:
        if path is None:
            return None
        principal = info.context.require_principal()
        return signed_url(info.context.settings, path, kind, self._database_id, principal)

    @classmethod
    def from_record(cls, record: ReportRecord) -> Report:
        global_id = encode_id("Report", record.id)
        ready = record.status == ReportStatus.SUCCEEDED and record.storage_key is not None
        return cls(
            id=strawberry.ID(global_id),
            kind=record.kind,
            status=record.status,
            attempts=record.attempts,
            error=record.error,
            created_at=record.created_at,
            finished_at=record.finished_at,
            csv_url=f"/reports/{global_id}.csv" if ready else None,
            html_url=f"/reports/{global_id}.html" if ready else None,
            project=Project.from_record(record.project),
            requested_by=User.from_record(record.requester),
            _database_id=record.id,
        )


async def report_node(info: Ctx, report_id: int) -> Report:
    return Report.from_record(await resolvers.report(info.context, report_id))


@strawberry.type(description="An expected failure of `reportRequest`.")
class ReportRequestError(MutationError):
    pass


@strawberry.input(description="What `reportRequest` takes.")
class ReportRequestInput:
    project_id: strawberry.ID = strawberry.field(description="The project to report on.")
    kind: ReportKind = strawberry.field(
        default=ReportKind.STATUS, description="What to show; STATUS by default."
    )


@strawberry.type(description="What `reportRequest` answers.")
class ReportRequestPayload:
    errors: list[ReportRequestError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The report as it is now (queued, unless its job was very quick).")
    async def report(self, info: Ctx) -> Report | None:
        if self._result.errors:
            return None
        found = await resolvers.report_or_none(info.context, self._result.object_id)
        return None if found is None else Report.from_record(found)


@strawberry.type
class ReportMutation:
    @strawberry.mutation(
        description="Asks for a project report, built in the background (poll `report(id:)`). Anyone who "
        "may read the project may ask; for others the project is NOT_FOUND on projectId."
    )
    async def report_request(
        self,
        info: Ctx,
        input: MutationInput[ReportRequestInput],  # noqa: A002
    ) -> ReportRequestPayload:
        project_id = decode_id(input.project_id, "Project", argument="projectId")
        result = await resolvers.request_report(info.context, project_id, ReportKind(input.kind))
        return ReportRequestPayload(errors=errors_as(ReportRequestError, result), _result=result)
