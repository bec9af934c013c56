"""Reports end to end: reportRequest -> the ``low`` queue on the suite's Redis -> a real worker process
-> the files under TASKQL_REPORT_ROOT -> ``report(id:)`` and the downloads, for who may read them only."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, update

from jobs.enqueue import ReportJobs, report_job_id
from jobs.queues import use_settings
from jobs.reports import GONE, SUCCEEDED, build_report
from perf.shared.private_redis import PrivateRedis
from persistence.enums import ReportStatus
from persistence.models import Event, Project, Report, User
from persistence.report_files import ReportStore, report_key
from resolvers.context import Services
from schema.app import create_app
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient, make_settings
from tests.jobs.waiting import until_true
from tests.report_data import ReportWorld, insert_report, report_world

REQUEST = """
mutation($p: ID!) { reportRequest(input: {projectId: $p, kind: STATUS}) {
  errors { field code message }
  report { id kind status attempts error csvUrl htmlUrl createdAt finishedAt
           project { id name } requestedBy { id name } } } }"""
READ = "query($id: ID!) { report(id: $id) { id status attempts error csvUrl htmlUrl finishedAt } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Report { status } } }"
HOSTILE_NAME = "<script>alert(1)</script> & Co"
FORMULA_NAME = "=SUM(A1)"


async def _request(user: GraphQLClient, project_id: int) -> dict[str, Any]:
    body = await user.run(REQUEST, {"p": encode_id("Project", project_id)})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["reportRequest"]
    return payload


async def _read(user: GraphQLClient, global_id: str) -> dict[str, Any]:
    body = await user.run(READ, {"id": global_id})
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["report"]
    return report


async def _counts(services: Services, world: ReportWorld) -> tuple[int, int]:
    """The project's reports and the organization's report.requested events."""
    async with services.db.read() as conn:
        reports = await conn.scalar(select(func.count()).where(Report.project_id == world.project_id))
        events = await conn.scalar(
            select(func.count()).where(
                Event.organization_id == world.organization_id, Event.type == "report.requested"
            )
        )
    return int(reports or 0), int(events or 0)


def _report_jobs(rq_redis: Redis) -> set[bytes]:
    return set(rq_redis.scan_iter(match="rq:job:report-*"))


async def _get(user: GraphQLClient, url: str) -> Any:
    headers = {} if user.token is None else {"authorization": f"Bearer {user.token}"}
    return await user.http.get(url, headers=headers)


def _sections(text: str) -> dict[str, list[list[str]]]:
    """The CSV's sections by title: each a header row and its rows."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for row in csv.reader(io.StringIO(text)):
        if row and row[0].startswith("# "):
            current = sections.setdefault(row[0][2:], [])
        elif row:
            current.append(row)
    return sections


@pytest.mark.usefixtures("worker")
async def test_a_requested_report_is_built_by_the_worker_and_served_to_readers_only(
    services: Services, gql: GraphQLClient, rq_redis: Redis
) -> None:
    # Given a project with known tasks, a hostile project name and an assignee named like a formula
    world = await report_world(services)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Project).where(Project.id == world.project_id).values(name=HOSTILE_NAME))
        await conn.execute(update(User).where(User.id == world.other_id).values(name=FORMULA_NAME))
    viewer = gql.as_user(await gql.login(world.viewer_email))
    assert "errors" not in await viewer.run("{ viewer { user { id } } }")  # the session is cached now
    # When a member of the project asks for a status report
    response = await viewer.post(REQUEST, {"p": encode_id("Project", world.project_id)})
    payload = response.json()["data"]["reportRequest"]
    # Then three statements did it all: the guarded insert, its event, and the report read back with
    # its project and requester (a cold session cache adds the session's row: 4, the write budget)
    assert response.json()["extensions"]["sqlStatements"] == 3
    # And it is queued (nothing to download yet), and its job waits on `low` with 2 fixed 300 s retries
    report = payload["report"]
    assert payload["errors"] == []
    assert (report["kind"], report["status"], report["csvUrl"], report["htmlUrl"]) == (
        "STATUS", "QUEUED", None, None,
    )  # fmt: skip
    assert report["project"] == {"id": encode_id("Project", world.project_id), "name": HOSTILE_NAME}
    assert report["requestedBy"] == {"id": encode_id("User", world.viewer_id), "name": "Viewer"}
    global_id = report["id"]
    report_id = await _only_report(services, world)
    assert global_id == encode_id("Report", report_id)
    job = Job.fetch(report_job_id(report_id), connection=rq_redis, serializer=JSONSerializer)
    assert (job.origin, job.args, job.retries_left, job.retry_intervals) == (
        "low",
        [report_id],
        2,
        [300, 300],
    )
    # When the worker has built it
    done: dict[str, Any] = {}

    async def succeeded() -> bool:
        done.update(await _read(viewer, global_id))
        return bool(done["status"] == "SUCCEEDED")

    await until_true(succeeded, 20, "the report to succeed")
    # Then it links its two files, after one attempt
    assert done["attempts"] == 1
    assert done["error"] is None
    assert done["finishedAt"] is not None
    assert done["csvUrl"] == f"/reports/{global_id}.csv"
    assert done["htmlUrl"] == f"/reports/{global_id}.html"
    assert (await viewer.run(NODE, {"id": global_id}))["data"]["node"] == {
        "id": global_id,
        "status": "SUCCEEDED",
    }
    # And the CSV is a download with every figure, a formula-like name neutralised
    response = await _get(viewer, done["csvUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="report-{report_id}.csv"'
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    sections = _sections(response.text)
    assert sections["report"][1][:2] == ["K0", HOSTILE_NAME]
    assert sections["tasks by status"] == [
        ["status", "tasks"], ["backlog", "1"], ["todo", "4"], ["in_progress", "1"], ["in_review", "1"],
        ["done", "4"], ["canceled", "1"],
    ]  # fmt: skip
    assert sections["tasks by assignee"] == [
        ["assignee", "backlog", "todo", "in_progress", "in_review", "done", "canceled", "total"],
        [f"'{FORMULA_NAME}", "0", "0", "1", "1", "2", "0", "4"],
        ["Viewer", "0", "4", "0", "0", "1", "1", "6"],
        ["(unassigned)", "1", "0", "0", "0", "1", "0", "2"],
    ]
    assert sections["overdue"] == [["overdue_tasks"], ["2"]]
    throughput = sections["throughput (tasks completed per ISO week)"]
    assert throughput[0] == ["week", "week_start", "completed"]
    assert [row[2] for row in throughput[1:]] == ["0"] * 10 + ["2", "1"]
    assert throughput[-1][1] == world.this_monday.isoformat()
    # And the HTML page is self-contained, escaped, with an SVG chart, under a sandboxing CSP
    response = await _get(viewer, done["htmlUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "sandbox" in csp
    assert "script-src" not in csp
    page = response.text
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert page.count("<svg") == 1
    assert page.count("<rect") == 12
    assert "<td>2</td>" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # And nobody else gets it: no token 401; someone outside the project, or the organization, 404
    anonymous = gql.as_user(None)
    assert (await _get(anonymous, done["csvUrl"])).status_code == 401
    for email in (world.outsider_email, world.foreigner_email):
        stranger = gql.as_user(await gql.login(email))
        for url in (done["csvUrl"], done["htmlUrl"]):
            response = await _get(stranger, url)
            assert response.status_code == 404, url
            assert HOSTILE_NAME not in response.text
        body = await stranger.run(READ, {"id": global_id})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await stranger.run(NODE, {"id": global_id}))["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def _only_report(services: Services, world: ReportWorld) -> int:
    async with services.db.read() as conn:
        [report_id] = (
            await conn.scalars(select(Report.id).where(Report.project_id == world.project_id))
        ).all()
    return int(report_id)


async def test_someone_who_may_not_read_the_project_gets_not_found_and_nothing_happens(
    services: Services, gql: GraphQLClient, rq_redis: Redis
) -> None:
    # Given a project, a user of its organization outside it, and a user of another organization
    world = await report_world(services)
    before, jobs = await _counts(services, world), _report_jobs(rq_redis)
    # When each asks for the project's report
    for email in (world.outsider_email, world.foreigner_email):
        stranger = gql.as_user(await gql.login(email))
        payload = await _request(stranger, world.project_id)
        # Then the project is NOT_FOUND for them, as if it did not exist
        assert payload == {
            "errors": [{"field": "projectId", "code": "NOT_FOUND", "message": "project not found"}],
            "report": None,
        }
    # And no row, no event and no job came of it
    assert await _counts(services, world) == before
    assert _report_jobs(rq_redis) == jobs
    # And an id of another type is bad input, before anything is read
    viewer = gql.as_user(await gql.login(world.viewer_email))
    body = await viewer.run(REQUEST, {"p": encode_id("Task", 1)})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _counts(services, world) == before


async def test_a_report_not_built_yet_or_failed_has_nothing_to_download(
    services: Services, gql: GraphQLClient
) -> None:
    # Given a queued and a failed report of a project the viewer reads
    world = await report_world(services)
    viewer = gql.as_user(await gql.login(world.viewer_email))
    for status in (ReportStatus.QUEUED, ReportStatus.FAILED):
        global_id = encode_id("Report", await insert_report(services, world, status))
        # Then it reads with no links, and its URLs are 404 (401 without a token)
        report = await _read(viewer, global_id)
        assert (report["status"], report["csvUrl"], report["htmlUrl"]) == (status.name, None, None)
        for extension in ("csv", "html"):
            assert (await _get(viewer, f"/reports/{global_id}.{extension}")).status_code == 404
            assert (await _get(gql.as_user(None), f"/reports/{global_id}.{extension}")).status_code == 401
    # And a malformed or unknown id is a 404 too
    for bad in ("not-an-id", encode_id("Report", 10**12), encode_id("Task", 1)):
        assert (await _get(viewer, f"/reports/{bad}.csv")).status_code == 404


async def test_a_report_whose_job_could_not_be_enqueued_stays_queued_and_is_logged(
    services: Services, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture, rq_redis: Redis
) -> None:
    # Given an app whose job queue's Redis is down (its own server, stopped)
    world = await report_world(services)
    private_redis.kill()
    down = replace(services, report_jobs=ReportJobs(make_settings(redis_url=private_redis.url)))
    transport = httpx.ASGITransport(app=create_app(services=down), client=("127.0.0.1", 50000))
    jobs = _report_jobs(rq_redis)
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        viewer = GraphQLClient(http)
        viewer = viewer.as_user(await viewer.login(world.viewer_email))
        # When the viewer asks for a report
        with caplog.at_level(logging.ERROR, logger="taskql.jobs"):
            payload = await _request(viewer, world.project_id)
    # Then the request still answers with the committed report, queued
    assert payload["errors"] == []
    assert payload["report"]["status"] == "QUEUED"
    report_id = await _only_report(services, world)
    # And the failure is logged with the report's id, no job exists, and the row stays queued
    assert f"could not enqueue the job of report {report_id}; it stays queued" in caplog.text
    assert _report_jobs(rq_redis) == jobs
    async with services.db.read() as conn:
        status = await conn.scalar(select(Report.status).where(Report.id == report_id))
    assert status == ReportStatus.QUEUED


async def test_building_a_report_again_rewrites_the_same_files(services: Services, tmp_path: Path) -> None:
    # Given a report built once (the job body called directly, with its own settings)
    world = await report_world(services)
    report_id = await insert_report(services, world, ReportStatus.QUEUED)
    use_settings(make_settings(report_root=str(tmp_path)))
    try:
        assert await build_report(report_id) == SUCCEEDED
        key = report_key(report_id)
        store = ReportStore(tmp_path)
        first = store.path_of(key, "csv").read_text()
        # When the project is renamed and the same job runs again (a redelivery)
        async with services.db.unit_of_work() as conn:
            await conn.execute(update(Project).where(Project.id == world.project_id).values(name="Renamed"))
        assert await build_report(report_id) == SUCCEEDED
        # (and a report that no longer exists is nothing to build)
        assert await build_report(10**12) == GONE
    finally:
        use_settings(None)
    # Then the same two files hold the new build, nothing else is left beside them
    assert "Renamed" in store.path_of(key, "csv").read_text()
    assert "Renamed" not in first
    assert "Renamed" in store.path_of(key, "html").read_text()
    assert sorted(p.name for p in store.path_of(key, "csv").parent.iterdir()) == [
        f"report-{report_id}.csv", f"report-{report_id}.html",
    ]  # fmt: skip
    async with services.db.read() as conn:
        row = (await conn.execute(select(Report.__table__).where(Report.id == report_id))).one()
    assert (row.status, row.attempts, row.storage_key) == (ReportStatus.SUCCEEDED, 2, key)
