"""attachmentUpload over the GraphQL multipart request spec, and `GET /attachments/{id}`.

Each refusal asserts that nothing changed: no attachment row, no event, and no file under the upload
root (staging included)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
import orjson
import pytest
from sqlalchemy import func, insert, select, update
from starlette.applications import Starlette

from persistence.enums import OrgRole, ProjectRole
from persistence.models import Attachment, Event, ProjectMember, Task, User
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from persistence.storage import FileStore
from resolvers import signed_links
from resolvers.attachment_mutations import clean_filename
from resolvers.context import Services
from resolvers.signed_links import LinkScope
from resolvers.subscriptions import TaskEventKind
from schema.app import create_app
from schema.core.ids import decode_id, encode_id
from schema.http.downloads import content_disposition
from tests.conftest import PASSWORD, GraphQLClient, make_settings

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
LIMIT = 64 * 1024
PREFLIGHT = {"apollo-require-preflight": "true"}

UPLOAD = """
mutation($input: AttachmentUploadInput!) {
  attachmentUpload(input: $input) {
    attachment { id filename contentType sizeBytes sha256 createdAt downloadUrl }
    errors { field code message }
  }
}"""
TASK_ATTACHMENTS = "query($id: ID!) { task(id: $id) { attachments { id sha256 downloadUrl } } }"


@pytest.fixture(scope="module")
def upload_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
async def upload_app(services: Services, upload_root: Path) -> Starlette:
    """The suite's services with an upload root of this module's own and a small size limit."""
    settings = make_settings(upload_root=str(upload_root), upload_max_bytes=LIMIT)
    return create_app(services=dataclasses.replace(services, settings=settings))


@pytest.fixture
async def http(upload_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=upload_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as client:
        yield client


@dataclass
class Team:
    """An organization whose first project has two editors (the author and a colleague) and a viewer;
    an outsider is in the organization but not the project; the owner sees everything."""

    org: SeededOrganization
    project_id: int
    task_id: int
    tokens: dict[str, str]
    user_ids: dict[str, int]
    http: httpx.AsyncClient

    def task_gid(self) -> str:
        return encode_id("Task", self.task_id)

    def gql(self, who: str) -> GraphQLClient:
        return GraphQLClient(self.http, self.tokens[who])

    async def upload(
        self,
        who: str | None = "author",
        content: bytes = b"hello, attachment\n",
        *,
        filename: str = "notes.txt",
        content_type: str = "text/plain",
        task_gid: str | None = None,
        headers: dict[str, str] | None = None,
        query: str = UPLOAD,
    ) -> httpx.Response:
        operations = {
            "query": query,
            "variables": {"input": {"taskId": task_gid or self.task_gid(), "file": None}},
        }
        sent = {**PREFLIGHT, **(headers or {})}
        if who is not None:
            sent["authorization"] = f"Bearer {self.tokens[who]}"
        return await self.http.post(
            "/graphql",
            data={"operations": orjson.dumps(operations).decode(), "map": '{"0": ["variables.input.file"]}'},
            files={"0": (filename, content, content_type)},
            headers=sent,
        )


async def _member(services: Services, org: SeededOrganization, name: str, role: ProjectRole | None) -> int:
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.db.unit_of_work() as conn:
        result = await conn.execute(
            insert(User).values(
                organization_id=org.organization_id,
                email=f"{name}-{org.organization_id}@attachments.test",
                name=name.title(),
                password_hash=password_hash,
                role=OrgRole.MEMBER,
                is_operator=False,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        user_id = int(key[0])
        if role is not None:
            values = {"project_id": org.project_ids[0], "user_id": user_id, "role": role}
            await conn.execute(insert(ProjectMember).values(**values))
    return user_id


async def _team(http: httpx.AsyncClient, services: Services, org: SeededOrganization) -> Team:
    roles = {
        "author": ProjectRole.EDITOR,
        "colleague": ProjectRole.EDITOR,
        "viewer": ProjectRole.VIEWER,
        "outsider": None,
    }
    user_ids = {name: await _member(services, org, name, role) for name, role in roles.items()}
    gql = GraphQLClient(http)
    tokens = {name: await gql.login(f"{name}-{org.organization_id}@attachments.test") for name in roles}
    tokens["owner"] = await gql.login(org.owner_email)
    # The seed spreads tasks over the projects in turn: the first task is the first project's.
    return Team(org, org.project_ids[0], org.task_ids[0], tokens, user_ids, http)


@pytest.fixture
async def team(http: httpx.AsyncClient, services: Services, make_org: MakeOrg) -> Team:
    return await _team(http, services, await make_org())


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def _state(services: Services, root: Path, organization_id: int) -> tuple[int, int, list[str]]:
    """(attachments, events) of the organization and every file under the root."""
    attachments, tasks, events = Attachment.__table__, Task.__table__, Event.__table__
    async with services.db.read() as conn:
        stored = await conn.scalar(
            select(func.count())
            .select_from(attachments.join(tasks, tasks.c.id == attachments.c.task_id))
            .where(tasks.c.organization_id == organization_id)
        )
        logged = await conn.scalar(select(func.count()).where(events.c.organization_id == organization_id))
    return int(stored or 0), int(logged or 0), _files(root)


async def _row(services: Services, attachment_gid: str) -> Any:
    table = Attachment.__table__
    async with services.db.read() as conn:
        statement = select(table).where(table.c.id == decode_id(attachment_gid, "Attachment"))
        return (await conn.execute(statement)).one()


def _payload(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["attachmentUpload"]
    return payload


def _uploaded(response: httpx.Response) -> dict[str, Any]:
    payload = _payload(response)
    assert payload["errors"] == [], payload
    attachment: dict[str, Any] = payload["attachment"]
    return attachment


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    return response.status_code, body["errors"][0]["extensions"]["code"]


# --- uploading ---------------------------------------------------------------------------------------


async def test_an_editor_uploads_and_the_bytes_and_checksum_are_stored(
    team: Team, services: Services, upload_root: Path
) -> None:
    # Given some bytes
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    digest = hashlib.sha256(content).hexdigest()
    before = await _state(services, upload_root, team.org.organization_id)
    # When an editor uploads them to a task
    response = await team.upload(content=content, filename="chart.png", content_type="image/png")
    attachment = _uploaded(response)
    # Then the payload describes them
    assert attachment["filename"] == "chart.png"
    assert (attachment["contentType"], attachment["sizeBytes"]) == ("image/png", len(content))
    assert attachment["sha256"] == digest
    assert attachment["downloadUrl"] == f"/attachments/{attachment['id']}"
    # And the row holds the checksum, and the bytes on disk under its key are the ones sent
    row = await _row(services, attachment["id"])
    assert (row.sha256, row.size_bytes, row.uploader_id) == (digest, len(content), team.user_ids["author"])
    assert (upload_root / row.storage_key).read_bytes() == content
    # And exactly one file was added, nothing left in staging
    stored, logged, files = await _state(services, upload_root, team.org.organization_id)
    assert (stored, logged) == (before[0] + 1, before[1] + 1)
    assert sorted(set(files) - set(before[2])) == [row.storage_key]
    assert not [f for f in files if f.startswith(".staging")]
    # And the task lists it, and its log says task.attached
    listed = await team.gql("colleague").run(TASK_ATTACHMENTS, {"id": team.task_gid()})
    assert {"id": attachment["id"], "sha256": digest, "downloadUrl": attachment["downloadUrl"]} in listed[
        "data"
    ]["task"]["attachments"]
    events = Event.__table__
    async with services.db.read() as conn:
        event = (
            await conn.execute(
                select(events).where(events.c.task_id == team.task_id).order_by(events.c.id.desc()).limit(1)
            )
        ).one()
    assert (event.type, event.actor_id, event.project_id) == (
        "task.attached",
        team.user_ids["author"],
        team.project_id,
    )
    assert TaskEventKind(event.type) is TaskEventKind.ATTACHED  # a type subscribers can name
    assert event.payload == {
        "attachment_id": row.id,
        "action": "created",
        "filename": "chart.png",
        "content_type": "image/png",
        "size_bytes": len(content),
        "sha256": digest,
    }


async def test_a_file_of_exactly_the_limit_is_accepted(
    team: Team, services: Services, upload_root: Path
) -> None:
    attachment = _uploaded(await team.upload(content=b"x" * LIMIT))
    row = await _row(services, attachment["id"])
    assert (upload_root / row.storage_key).stat().st_size == LIMIT


async def test_the_filename_is_sanitized(team: Team, services: Services) -> None:
    attachment = _uploaded(await team.upload(filename="../../etc/pass\u202ewd.txt"))
    assert attachment["filename"] == "passwd.txt"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("a\x00b\x1fc\x7f.txt", "abc.txt"),
        ("  ..  ", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        ("é" * 300 + ".docx", "é" * 250 + ".docx"),
        ("x" * 300, "x" * 255),
    ],
)
def test_clean_filename(raw: str | None, cleaned: str) -> None:
    assert clean_filename(raw) == cleaned


async def test_a_viewer_cannot_upload_and_nothing_changes(
    team: Team, services: Services, upload_root: Path
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    response = await team.upload("viewer")
    body = response.json()
    assert (body["data"], [e["extensions"]["code"] for e in body["errors"]]) == (None, ["FORBIDDEN"])
    assert await _state(services, upload_root, team.org.organization_id) == before


@pytest.mark.parametrize("target", ["other organization", "hidden project", "deleted", "missing"])
async def test_a_task_one_cannot_see_or_that_is_gone_reads_as_missing(
    team: Team, services: Services, make_org: MakeOrg, upload_root: Path, target: str
) -> None:
    # Given a task the uploader cannot write to because they cannot see it (or it is gone)
    other = await make_org()
    who, task_id = "author", team.task_id
    if target == "other organization":
        task_id = other.task_ids[0]
    elif target == "hidden project":
        who = "outsider"  # in the organization, not in the project
    elif target == "deleted":
        task_id = team.org.task_ids[3]
        async with services.db.unit_of_work() as conn:
            await conn.execute(update(Task).where(Task.id == task_id).values(deleted_at=utcnow()))
    else:
        task_id = 10**12
    before = (
        await _state(services, upload_root, team.org.organization_id),
        await _state(services, upload_root, other.organization_id),
    )
    # When they upload to it
    payload = _payload(await team.upload(who, task_gid=encode_id("Task", task_id)))
    # Then NOT_FOUND on taskId, and nothing is written anywhere
    assert payload["attachment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("taskId", "NOT_FOUND")]
    after = (
        await _state(services, upload_root, team.org.organization_id),
        await _state(services, upload_root, other.organization_id),
    )
    assert after == before


async def test_a_file_over_the_limit_is_too_large_and_nothing_is_written(
    team: Team, services: Services, upload_root: Path
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    payload = _payload(await team.upload(content=b"x" * (LIMIT + 1)))
    assert payload["attachment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", "TOO_LARGE")]
    assert str(LIMIT) in payload["errors"][0]["message"]
    assert await _state(services, upload_root, team.org.organization_id) == before


async def test_a_body_far_over_the_limit_is_cut_off_without_being_read(
    team: Team, services: Services, upload_root: Path
) -> None:
    # Given a request body that would go on for 400 times the limit, produced as it is read
    boundary = "taskqlboundary"
    operations = orjson.dumps(
        {"query": UPLOAD, "variables": {"input": {"taskId": team.task_gid(), "file": None}}}
    ).decode()
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.input.file"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="huge.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        sent += len(head)
        yield head
        for _ in range(400 * LIMIT // 8192):
            sent += 8192
            yield b"y" * 8192

    before = await _state(services, upload_root, team.org.organization_id)
    # When it is posted
    response = await team.http.post(
        "/graphql",
        content=body(),
        headers={
            **PREFLIGHT,
            "authorization": f"Bearer {team.tokens['author']}",
            "content-type": f"multipart/form-data; boundary={boundary}",
        },
    )
    # Then the answer is TOO_LARGE, read no further than just past the limit, and nothing is left
    payload = _payload(response)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", "TOO_LARGE")]
    assert sent < LIMIT + 64 * 1024, sent
    assert await _state(services, upload_root, team.org.organization_id) == before


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [("text/html", "page.html"), ("image/svg+xml", "logo.svg"), ("application/x-msdownload", "a.exe")],
)
async def test_a_type_not_allowed_is_refused_and_nothing_is_written(
    team: Team, services: Services, upload_root: Path, content_type: str, filename: str
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    response = await team.upload(
        content=b"<script>alert(1)</script>", filename=filename, content_type=content_type
    )
    payload = _payload(response)
    assert payload["attachment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", "UNSUPPORTED_MEDIA_TYPE")]
    assert await _state(services, upload_root, team.org.organization_id) == before


async def test_the_allowed_types_come_from_settings(services: Services, tmp_path: Path, team: Team) -> None:
    # Given a server that accepts only PDFs
    settings = make_settings(upload_root=str(tmp_path), upload_allowed_content_types="application/pdf")
    app = create_app(services=dataclasses.replace(services, settings=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        pdf_only = dataclasses.replace(team, http=http)
        # Then plain text is refused and a PDF (with parameters on its type) is taken
        refused = _payload(await pdf_only.upload(content_type="text/plain"))
        taken = _uploaded(await pdf_only.upload(filename="a.pdf", content_type="Application/PDF; x=y"))
    assert [e["code"] for e in refused["errors"]] == ["UNSUPPORTED_MEDIA_TYPE"]
    assert taken["contentType"] == "application/pdf"


# --- the CSRF rule and what multipart may carry ------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"apollo-require-preflight": ""}, {"apollo-require-preflight": "  "}]
)
async def test_multipart_without_a_preflight_header_is_refused_and_nothing_is_written(
    team: Team, services: Services, upload_root: Path, headers: dict[str, str]
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    sent = {"authorization": f"Bearer {team.tokens['author']}", **headers}
    operations = {"query": UPLOAD, "variables": {"input": {"taskId": team.task_gid(), "file": None}}}
    response = await team.http.post(
        "/graphql",
        data={"operations": orjson.dumps(operations).decode(), "map": '{"0": ["variables.input.file"]}'},
        files={"0": ("a.txt", b"csrf", "text/plain")},
        headers=sent,
    )
    assert _error(response) == (400, "CSRF_PREVENTED")
    assert await _state(services, upload_root, team.org.organization_id) == before


async def test_x_apollo_operation_name_also_lets_an_upload_through(team: Team) -> None:
    response = await team.upload(
        headers={"apollo-require-preflight": "", "x-apollo-operation-name": "Upload"}
    )
    assert _uploaded(response)["sizeBytes"] > 0


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", b"query=%7B__typename%7D"),
        ("text/plain", b'{"query": "{ __typename }"}'),
    ],
)
async def test_form_and_text_posts_are_still_refused_even_with_the_header(
    team: Team, content_type: str, content: bytes
) -> None:
    headers = {**PREFLIGHT, "content-type": content_type, "authorization": f"Bearer {team.tokens['author']}"}
    response = await team.http.post("/graphql", content=content, headers=headers)
    assert _error(response) == (415, "BAD_USER_INPUT")


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { user { id } } }",
        'mutation { commentCreate(input: {taskId: "x", body: "y"}) { errors { code } } }',
        "mutation($input: AttachmentUploadInput!) { attachmentUpload(input: $input) { errors { code } } "
        "other: attachmentUpload(input: $input) { errors { code } } }",
        "mutation($input: AttachmentUploadInput!) { ... on Mutation { attachmentUpload(input: $input) "
        "{ errors { code } } } }",
    ],
    ids=["query", "another mutation", "two root fields", "fragment"],
)
async def test_multipart_carrying_another_operation_is_refused(
    team: Team, services: Services, upload_root: Path, query: str
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    response = await team.upload(query=query)
    assert _error(response) == (400, "MULTIPART_NOT_ALLOWED")
    assert await _state(services, upload_root, team.org.organization_id) == before


async def test_an_anonymous_upload_is_refused_before_the_body_is_read(
    team: Team, services: Services, upload_root: Path
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    assert _error(await team.upload(None)) == (401, "UNAUTHENTICATED")
    assert await _state(services, upload_root, team.org.organization_id) == before


@pytest.mark.parametrize(
    "case",
    [
        {"map": '{"0": ["variables.input.file"]}'},  # no operations
        {"operations": "{nope", "map": '{"0": ["variables.input.file"]}'},
        {"operations": "OPS", "map": "[]"},
        {"operations": "OPS", "map": '{"0": ["variables.input.taskId"]}'},  # not a null placeholder
        {"operations": "OPS", "map": '{"0": ["variables.nowhere.file"]}'},
        {"operations": "OPS", "map": '{"0": ["input.file"]}'},
        {"operations": "OPS", "map": '{"1": ["variables.input.file"]}'},  # the part is "0"
        {"operations": "OPS", "map": '{"0": ["variables.input.file"], "1": ["variables.input.file"]}'},
        {"operations": "[OPS]", "map": '{"0": ["variables.input.file"]}'},  # batched
    ],
    ids=[
        "no operations",
        "bad json",
        "map not an object",
        "not a placeholder",
        "no such path",
        "path outside variables",
        "unknown part",
        "two files",
        "batch",
    ],
)
async def test_a_malformed_multipart_request_is_bad_user_input_and_writes_nothing(
    team: Team, services: Services, upload_root: Path, case: dict[str, str]
) -> None:
    operations = orjson.dumps(
        {"query": UPLOAD, "variables": {"input": {"taskId": team.task_gid(), "file": None}}}
    ).decode()
    fields = {name: value.replace("OPS", operations) for name, value in case.items()}
    before = await _state(services, upload_root, team.org.organization_id)
    response = await team.http.post(
        "/graphql",
        data=fields,
        files={"0": ("a.txt", b"data", "text/plain")},
        headers={**PREFLIGHT, "authorization": f"Bearer {team.tokens['author']}"},
    )
    assert _error(response) == (400, "BAD_USER_INPUT")
    assert await _state(services, upload_root, team.org.organization_id) == before


async def test_attachment_upload_over_json_is_bad_user_input(
    team: Team, services: Services, upload_root: Path
) -> None:
    before = await _state(services, upload_root, team.org.organization_id)
    variables = {"input": {"taskId": team.task_gid(), "file": "aGVsbG8="}}
    body = await team.gql("author").run(UPLOAD, variables)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"].get("argument")) for e in body["errors"]] == [
        ("BAD_USER_INPUT", "input.file")
    ]
    assert await _state(services, upload_root, team.org.organization_id) == before


# --- Idempotency-Key -----------------------------------------------------------------------------------


async def test_a_replayed_upload_returns_the_first_attachment_and_writes_no_second_file(
    team: Team, services: Services, upload_root: Path
) -> None:
    # Given an upload made with a key
    key = {"idempotency-key": "upload-once"}
    first = _uploaded(await team.upload(content=b"once", headers=key))
    after_first = await _state(services, upload_root, team.org.organization_id)
    # When the same request comes again, with the answer in Redis and then with Redis emptied
    cached = _uploaded(await team.upload(content=b"once", headers=key))
    for redis_key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(redis_key)
    replayed = _uploaded(await team.upload(content=b"once", headers=key))
    # Then both answer with the first attachment, and no second row, event or file exists
    assert cached == first
    assert replayed == first
    assert await _state(services, upload_root, team.org.organization_id) == after_first
    # And the same key with another file is refused as another request
    other = await team.upload(content=b"twice", headers=key)
    assert _error(other) == (422, "BAD_USER_INPUT")
    assert await _state(services, upload_root, team.org.organization_id) == after_first


# --- downloading ---------------------------------------------------------------------------------------


async def _download(team: Team, url: str, who: str | None) -> httpx.Response:
    headers = {} if who is None else {"authorization": f"Bearer {team.tokens[who]}"}
    return await team.http.get(url, headers=headers)


@pytest.mark.parametrize("who", ["author", "colleague", "viewer", "owner"])
async def test_members_download_the_file_as_an_attachment(team: Team, who: str) -> None:
    # Given a text file whose content looks like HTML, with a name that needs encoding
    content = b"<html><script>alert(1)</script></html>"
    attachment = _uploaded(await team.upload(content=content, filename="r\u00e9sum\u00e9 final.txt"))
    # When the uploader or another member of the project downloads it
    response = await _download(team, attachment["downloadUrl"], who)
    # Then they get the bytes, as a download that a browser never renders or sniffs
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.endswith("; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.txt")
    assert response.headers["etag"] == f'"{attachment["sha256"]}"'
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"


async def test_a_download_is_not_found_for_another_organization_or_a_non_member(
    team: Team, http: httpx.AsyncClient, services: Services, make_org: MakeOrg
) -> None:
    attachment = _uploaded(await team.upload())
    other = await _team(http, services, await make_org())
    # The other organization's owner sees everything in their own organization only
    response = await _download(other, attachment["downloadUrl"], "owner")
    assert _error(response) == (404, "NOT_FOUND")
    # The outsider is in the organization but not in the (private) project
    assert _error(await _download(team, attachment["downloadUrl"], "outsider")) == (404, "NOT_FOUND")
    # An id that names nothing, or no attachment, reads the same
    for url in [
        f"/attachments/{encode_id('Attachment', 10**12)}",
        "/attachments/nope",
        f"/attachments/{team.task_gid()}",
    ]:
        assert _error(await _download(team, url, "author")) == (404, "NOT_FOUND")


async def test_an_attachment_of_a_deleted_task_is_not_found(team: Team, services: Services) -> None:
    attachment = _uploaded(await team.upload())
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Task).where(Task.id == team.task_id).values(deleted_at=utcnow()))
    assert _error(await _download(team, attachment["downloadUrl"], "author")) == (404, "NOT_FOUND")


async def test_an_anonymous_or_badly_authenticated_download_is_unauthenticated(team: Team) -> None:
    attachment = _uploaded(await team.upload())
    assert _error(await _download(team, attachment["downloadUrl"], None)) == (401, "UNAUTHENTICATED")
    forged = await team.http.get(attachment["downloadUrl"], headers={"authorization": "Bearer not.a.jwt"})
    assert _error(forged) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("a.txt", "attachment; filename=\"a.txt\"; filename*=UTF-8''a.txt"),
        (
            'x"; inline; y=".html',
            'attachment; filename="x_; inline; y=_.html"; '
            "filename*=UTF-8''x%22%3B%20inline%3B%20y%3D%22.html",
        ),
        ("日本.pdf", "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf"),
    ],
)
def test_the_content_disposition_is_always_a_download(filename: str, header: str) -> None:
    assert content_disposition(filename) == header


def test_storage_keys_cannot_lead_outside_the_root(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "root")
    for key in ["../outside", "/etc/passwd", "ab/../../x", ".staging/x.part", "", "."]:
        with pytest.raises(ValueError, match="outside the root"):
            store.path_of(key)
    key = store.new_key()
    assert store.path_of(key) == (tmp_path / "root" / key).resolve()


# --- signed links (a plain `<a href>`) --------------------------------------------------------------

SIGNED_UPLOAD = UPLOAD.replace("downloadUrl }", "downloadUrl signedDownloadUrl }")
SIGNED_LIST = "query($id: ID!) { task(id: $id) { attachments { id signedDownloadUrl } } }"


def _local(url: str) -> str:
    """A signed link without its public base URL: the path and query the in-process app answers."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == make_settings().public_base_url
    return f"{parts.path}?{parts.query}"


def _with(url: str, **changed: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changed
    return f"{parts.path}?{urlencode(query)}"


async def _signed_upload(team: Team, who: str = "author") -> dict[str, Any]:
    return _uploaded(await team.upload(who, query=SIGNED_UPLOAD))


async def test_a_signed_link_downloads_without_an_authorization_header(team: Team) -> None:
    # Given an attachment and the signed link its task's reader gets for it
    attachment = await _signed_upload(team)
    listed = (await team.gql("viewer").run(SIGNED_LIST, {"id": team.task_gid()}))["data"]["task"]
    [link] = [a["signedDownloadUrl"] for a in listed["attachments"] if a["id"] == attachment["id"]]
    assert urlsplit(link).path == attachment["downloadUrl"]
    # When a browser follows either link, with no header at all
    for url in (link, attachment["signedDownloadUrl"]):
        response = await team.http.get(_local(url))
        # Then it gets the file, as the download the bearer route serves
        assert response.status_code == 200
        assert response.content == b"hello, attachment\n"
        assert response.headers["content-disposition"].startswith("attachment;")
    assert int(parse_qs(urlsplit(link).query)["expires"][0]) <= time.time() + 300


async def test_a_changed_signed_link_is_forbidden(team: Team) -> None:
    # Given a signed link, and another attachment of the same task
    link = _local((await _signed_upload(team))["signedDownloadUrl"])
    other = await _signed_upload(team)
    signature = parse_qs(urlsplit(link).query)["signature"][0]
    viewer = f"{team.org.organization_id}.{team.user_ids['viewer']}"
    changed = [
        # the other attachment's path under this link's signature
        f"{other['downloadUrl']}?{urlsplit(link).query}",
        _with(link, signature=signature[:-1] + ("0" if signature[-1] != "0" else "1")),
        _with(link, expires=str(int(time.time()) + 3600)),
        _with(link, scope=viewer),
        _with(link, signature=""),
        f"/attachments/nope?{urlsplit(link).query}",
    ]
    # When any part of it is changed, then it is refused, and the bearer route is no way around it
    for url in changed:
        assert _error(await team.http.get(url)) == (403, "FORBIDDEN"), url
    assert (await team.http.get(link)).status_code == 200


async def test_an_expired_signed_link_is_forbidden(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a link signed 10 minutes ago (it lived 5)
    monkeypatch.setattr(signed_links, "utcnow", lambda: utcnow() - timedelta(minutes=10))
    link = _local((await _signed_upload(team))["signedDownloadUrl"])
    monkeypatch.undo()
    # When it is followed now, then it is refused
    response = await team.http.get(link)
    assert _error(response) == (403, "FORBIDDEN")
    assert "expired" in response.json()["errors"][0]["message"]


async def test_a_signed_link_never_reaches_another_organizations_object(
    team: Team, http: httpx.AsyncClient, services: Services, make_org: MakeOrg
) -> None:
    # Given an attachment of this organization, and another organization's owner with a link of theirs
    ours = await _signed_upload(team)
    other = await _team(http, services, await make_org())
    theirs = _local((await _signed_upload(other, "owner"))["signedDownloadUrl"])
    # When their link's query is put on our attachment's path, then it is refused
    assert _error(await http.get(f"{ours['downloadUrl']}?{urlsplit(theirs).query}")) == (403, "FORBIDDEN")
    # And a link they sign for one of our ids (what a leak of our ids would allow) names their own
    # organization, in which no attachment has that id
    owner = LinkScope(other.org.organization_id, other.org.user_ids[0], utcnow() + timedelta(minutes=5))
    their_owner = await signed_links.link_principal(services, owner)
    attachment_id = decode_id(ours["id"], "Attachment")
    forged = signed_links.signed_url(
        make_settings(), ours["downloadUrl"], "attachment", attachment_id, their_owner
    )
    assert _error(await http.get(_local(forged))) == (404, "NOT_FOUND")


async def test_a_deactivated_users_links_stop_working(team: Team, services: Services) -> None:
    # Given a link of the colleague's
    link = _local((await _signed_upload(team, "colleague"))["signedDownloadUrl"])
    assert (await team.http.get(link)).status_code == 200
    # When they are deactivated, then their link is refused
    async with services.db.unit_of_work() as conn:
        deactivate = update(User).where(User.id == team.user_ids["colleague"]).values(deactivated_at=utcnow())
        await conn.execute(deactivate)
    assert _error(await team.http.get(link)) == (403, "FORBIDDEN")
