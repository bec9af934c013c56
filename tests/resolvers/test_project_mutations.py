"""Project writes: create, update, archive, and members. Each mutation's success, its expected
failures in the payload, permission failures at the top, nothing written by a refused write, the
last admin kept, events with their sequence, idempotent replays, the statement budget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from persistence.enums import OrgRole, ProjectRole
from persistence.models import Event, Project, ProjectMember, User
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

CREATE = """
mutation($input: ProjectCreateInput!) {
  projectCreate(input: $input) {
    project { id key name description archived viewerRole openTaskCount }
    errors { field code message }
  }
}"""
UPDATE = """
mutation($input: ProjectUpdateInput!) {
  projectUpdate(input: $input) { project { id name description } errors { field code message } }
}"""
ARCHIVE = """
mutation($input: ProjectArchiveInput!) {
  projectArchive(input: $input) { project { id archived archivedAt } errors { field code message } }
}"""
ADD = """
mutation($input: ProjectMemberAddInput!) {
  projectMemberAdd(input: $input) {
    member { user { id name } role } project { id key } errors { field code message }
  }
}"""
REMOVE = """
mutation($input: ProjectMemberRemoveInput!) {
  projectMemberRemove(input: $input) { project { id } errors { field code message } }
}"""
ROLE = """
mutation($input: ProjectMemberRoleChangeInput!) {
  projectMemberRoleChange(input: $input) { member { user { id } role } errors { field code message } }
}"""


@dataclass
class Studio:
    """An organization with a project ("STU") whose admin and editor are plain members, an owner,
    and a member who is not in the project."""

    org: SeededOrganization
    project_id: int
    owner: GraphQLClient
    lead: GraphQLClient
    editor: GraphQLClient
    outsider: GraphQLClient
    lead_id: int
    editor_id: int
    outsider_id: int


async def _email(services: Services, user_id: int) -> str:
    async with services.db.read() as conn:
        email: str = (await conn.execute(select(User.email).where(User.id == user_id))).scalar_one()
    return email


@pytest.fixture
async def studio(gql: GraphQLClient, services: Services, make_org: MakeOrg) -> Studio:
    org = await make_org()
    lead_id, editor_id, outsider_id = org.user_ids[3], org.user_ids[4], org.user_ids[5]
    async with services.db.unit_of_work() as conn:
        values = {"organization_id": org.organization_id, "key": "STU", "name": "Studio", "description": ""}
        key = (await conn.execute(insert(Project).values(**values))).inserted_primary_key
        assert key is not None
        project_id = int(key[0])
        await conn.execute(
            insert(ProjectMember),
            [
                {"project_id": project_id, "user_id": lead_id, "role": ProjectRole.ADMIN},
                {"project_id": project_id, "user_id": editor_id, "role": ProjectRole.EDITOR},
            ],
        )

    async def client(user_id: int) -> GraphQLClient:
        return gql.as_user(await gql.login(await _email(services, user_id)))

    owner = gql.as_user(await gql.login(org.owner_email))
    return Studio(
        org,
        project_id,
        owner,
        await client(lead_id),
        await client(editor_id),
        await client(outsider_id),
        lead_id,
        editor_id,
        outsider_id,
    )


async def _counts(services: Services, organization_id: int) -> tuple[Any, ...]:
    """The organization's projects (with their archive time and name) and memberships, and its
    event count: a refused write leaves all of them alone."""
    projects, members = Project.__table__, ProjectMember.__table__
    async with services.db.read() as conn:
        project_rows = (
            await conn.execute(
                select(projects.c.id, projects.c.name, projects.c.archived_at)
                .where(projects.c.organization_id == organization_id)
                .order_by(projects.c.id)
            )
        ).all()
        member_rows = (
            await conn.execute(
                select(members.c.project_id, members.c.user_id, members.c.role)
                .select_from(members.join(projects, projects.c.id == members.c.project_id))
                .where(projects.c.organization_id == organization_id)
                .order_by(members.c.project_id, members.c.user_id)
            )
        ).all()
        events = await conn.scalar(
            select(func.count()).where(Event.__table__.c.organization_id == organization_id)
        )
    return (tuple(project_rows), tuple(member_rows), events)


async def _project_events(services: Services, project_id: int) -> list[Any]:
    events = Event.__table__
    async with services.db.read() as conn:
        statement = select(events).where(events.c.project_id == project_id).order_by(events.c.sequence)
        return list((await conn.execute(statement)).all())


def _payload(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload


def _errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def _forbidden(body: dict[str, Any]) -> bool:
    return body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


def _pid(project_id: int) -> str:
    return encode_id("Project", project_id)


def _uid(user_id: int) -> str:
    return encode_id("User", user_id)


def _member_input(studio: Studio, user_id: int, role: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"projectId": _pid(studio.project_id), "userId": _uid(user_id)}
    if role is not None:
        values["role"] = role
    return {"input": values}


# --- projectCreate ---------------------------------------------------------------------------------------


async def test_a_member_creates_a_project_and_administers_it(studio: Studio, services: Services) -> None:
    # Given a plain member of the organization; when they create a project (key in any case)
    variables = {"input": {"key": "new1", "name": " Launch ", "description": "Ship it"}}
    payload = _payload(await studio.outsider.run(CREATE, variables), "projectCreate")
    # Then it exists with its key upper-cased, and its creator is its admin
    assert payload["errors"] == []
    project = payload["project"]
    assert (project["key"], project["name"], project["description"]) == ("NEW1", "Launch", "Ship it")
    assert (project["archived"], project["viewerRole"], project["openTaskCount"]) == (False, "ADMIN", 0)
    async with services.db.read() as conn:
        project_id = (
            await conn.execute(
                select(Project.id).where(
                    Project.organization_id == studio.org.organization_id, Project.key == "NEW1"
                )
            )
        ).scalar_one()
        role = await conn.scalar(
            select(ProjectMember.role).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == studio.outsider_id
            )
        )
    assert project["id"] == _pid(project_id)
    assert role == ProjectRole.ADMIN
    # And its first event starts the project's sequence
    [event] = await _project_events(services, project_id)
    assert (event.type, event.sequence, event.actor_id) == ("project.created", 1, studio.outsider_id)


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"key": "1AB"}, "key", "INVALID"),
        ({"key": "A"}, "key", "INVALID"),
        ({"key": "ABCDEFGHIJK"}, "key", "INVALID"),
        ({"name": ""}, "name", "INVALID"),
        ({"key": "stu"}, "key", "CONFLICT"),
    ],
)
async def test_create_reports_bad_or_taken_keys_and_writes_nothing(
    studio: Studio, services: Services, overrides: dict[str, Any], field: str, code: str
) -> None:
    # Given the organization's projects ("STU" among them); when one field is bad or the key taken
    before = await _counts(services, studio.org.organization_id)
    variables = {"input": {"key": "OK1", "name": "Fine", **overrides}}
    payload = _payload(await studio.lead.run(CREATE, variables), "projectCreate")
    # Then the payload says which, and nothing was written
    assert (payload["project"], _errors(payload)) == (None, [(field, code)])
    assert await _counts(services, studio.org.organization_id) == before


async def test_a_guest_cannot_create_and_another_org_may_reuse_the_key(
    studio: Studio, services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a guest (their role set before they log in)
    guest_id = studio.org.user_ids[6]
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == guest_id).values(role=OrgRole.GUEST))
    guest = gql.as_user(await gql.login(await _email(services, guest_id)))
    before = await _counts(services, studio.org.organization_id)
    assert _forbidden(await guest.run(CREATE, {"input": {"key": "GST", "name": "Guest's"}}))
    assert await _counts(services, studio.org.organization_id) == before
    # Keys are unique per organization only
    other = await make_org()
    other_owner = gql.as_user(await gql.login(other.owner_email))
    payload = _payload(
        await other_owner.run(CREATE, {"input": {"key": "STU", "name": "Theirs"}}), "projectCreate"
    )
    assert payload["errors"] == []


# --- projectUpdate, projectArchive ----------------------------------------------------------------------


async def test_the_project_admin_updates_and_archives(studio: Studio, services: Services) -> None:
    # Given the project's admin (a plain member of the organization); when they describe and archive it
    project = _pid(studio.project_id)
    updated = _payload(
        await studio.lead.run(UPDATE, {"input": {"id": project, "description": "New words"}}), "projectUpdate"
    )
    assert updated == {"project": {"id": project, "name": "Studio", "description": "New words"}, "errors": []}
    first = _payload(
        await studio.lead.run(ARCHIVE, {"input": {"id": project, "archived": True}}), "projectArchive"
    )
    assert first["project"]["archived"] is True
    # Archiving again keeps the first time; restoring clears it
    again = _payload(
        await studio.owner.run(ARCHIVE, {"input": {"id": project, "archived": True}}), "projectArchive"
    )
    assert again["project"]["archivedAt"] == first["project"]["archivedAt"]
    restored = _payload(
        await studio.lead.run(ARCHIVE, {"input": {"id": project, "archived": False}}), "projectArchive"
    )
    assert restored["project"]["archived"] is False
    # And each change is an event in the project's gapless sequence
    events = await _project_events(services, studio.project_id)
    assert [e.type for e in events] == [
        "project.updated",
        "project.archived",
        "project.archived",
        "project.archived",
    ]
    assert [e.sequence for e in events] == [1, 2, 3, 4]


async def test_who_may_not_change_a_project(studio: Studio, services: Services, make_org: MakeOrg) -> None:
    other = await make_org()
    before = await _counts(services, studio.org.organization_id)
    rename = {"input": {"id": _pid(studio.project_id), "name": "Mine now"}}
    # An editor sees the project but may not manage it
    assert _forbidden(await studio.editor.run(UPDATE, rename))
    assert _forbidden(
        await studio.editor.run(ARCHIVE, {"input": {"id": _pid(studio.project_id), "archived": True}})
    )
    # A member outside the project, and anyone for another organization's project, finds nothing
    hidden = _payload(await studio.outsider.run(UPDATE, rename), "projectUpdate")
    foreign = _payload(
        await studio.owner.run(UPDATE, {"input": {"id": _pid(other.project_ids[0]), "name": "x"}}),
        "projectUpdate",
    )
    assert _errors(hidden) == _errors(foreign) == [("id", "NOT_FOUND")]
    # Nothing to change is invalid
    empty = _payload(
        await studio.lead.run(UPDATE, {"input": {"id": _pid(studio.project_id)}}), "projectUpdate"
    )
    assert _errors(empty) == [(None, "INVALID")]
    assert await _counts(services, studio.org.organization_id) == before


# --- members --------------------------------------------------------------------------------------------


async def test_the_project_admin_adds_changes_and_removes_a_member(
    studio: Studio, services: Services
) -> None:
    # Given a member outside the project; when its admin adds them, changes their role, removes them
    added = _payload(
        await studio.lead.run(ADD, _member_input(studio, studio.outsider_id, "VIEWER")), "projectMemberAdd"
    )
    assert added["errors"] == []
    assert added["member"]["user"]["id"] == _uid(studio.outsider_id)
    assert (added["member"]["role"], added["project"]["key"]) == ("VIEWER", "STU")
    changed = _payload(
        await studio.lead.run(ROLE, _member_input(studio, studio.outsider_id, "EDITOR")),
        "projectMemberRoleChange",
    )
    assert changed == {"member": {"user": {"id": _uid(studio.outsider_id)}, "role": "EDITOR"}, "errors": []}
    removed = _payload(
        await studio.lead.run(REMOVE, _member_input(studio, studio.outsider_id)), "projectMemberRemove"
    )
    assert removed == {"project": {"id": _pid(studio.project_id)}, "errors": []}
    # Then each payload shows the membership as it now is, and each write is an event in sequence
    events = await _project_events(services, studio.project_id)
    assert [(e.type, e.payload["user_id"], e.sequence) for e in events] == [
        ("project.member_added", studio.outsider_id, 1),
        ("project.member_role_changed", studio.outsider_id, 2),
        ("project.member_removed", studio.outsider_id, 3),
    ]


async def test_member_writes_check_the_user_and_the_membership(
    studio: Studio, services: Services, make_org: MakeOrg
) -> None:
    # Given a deactivated user here, and another organization
    other = await make_org()
    deactivated_id = studio.org.user_ids[7]
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == deactivated_id).values(deactivated_at=utcnow()))
    # When the admin adds a member twice, a deactivated or foreign user, or changes a non-member;
    # then each is refused in the payload on the user's id
    before = await _counts(services, studio.org.organization_id)
    cases = [
        (ADD, _member_input(studio, studio.editor_id, "VIEWER"), "projectMemberAdd", ("userId", "CONFLICT")),
        (ADD, _member_input(studio, deactivated_id, "VIEWER"), "projectMemberAdd", ("userId", "NOT_FOUND")),
        (
            ADD,
            _member_input(studio, other.user_ids[3], "VIEWER"),
            "projectMemberAdd",
            ("userId", "NOT_FOUND"),
        ),
        (REMOVE, _member_input(studio, studio.outsider_id), "projectMemberRemove", ("userId", "NOT_FOUND")),
        (
            ROLE,
            _member_input(studio, studio.outsider_id, "ADMIN"),
            "projectMemberRoleChange",
            ("userId", "NOT_FOUND"),
        ),
    ]
    for mutation, variables, name, error in cases:
        assert _errors(_payload(await studio.lead.run(mutation, variables), name)) == [error], (
            name,
            variables,
        )
    # Another organization's project reads as missing
    foreign = {
        "input": {
            "projectId": _pid(other.project_ids[0]),
            "userId": _uid(studio.outsider_id),
            "role": "EDITOR",
        }
    }
    assert _errors(_payload(await studio.owner.run(ADD, foreign), "projectMemberAdd")) == [
        ("projectId", "NOT_FOUND")
    ]
    assert await _counts(services, studio.org.organization_id) == before


async def test_an_editor_cannot_manage_members(studio: Studio, services: Services) -> None:
    # Given an editor of the project; when they add, remove or promote; then FORBIDDEN, nothing changed
    before = await _counts(services, studio.org.organization_id)
    assert _forbidden(await studio.editor.run(ADD, _member_input(studio, studio.outsider_id, "EDITOR")))
    assert _forbidden(await studio.editor.run(REMOVE, _member_input(studio, studio.lead_id)))
    assert _forbidden(await studio.editor.run(ROLE, _member_input(studio, studio.editor_id, "ADMIN")))
    assert await _counts(services, studio.org.organization_id) == before


async def test_the_last_admin_is_never_removed_or_demoted(studio: Studio, services: Services) -> None:
    # Given the lead is the project's only admin
    before = await _counts(services, studio.org.organization_id)
    # When even the organization owner removes or demotes them, then it conflicts
    removal = _payload(
        await studio.owner.run(REMOVE, _member_input(studio, studio.lead_id)), "projectMemberRemove"
    )
    demotion = _payload(
        await studio.lead.run(ROLE, _member_input(studio, studio.lead_id, "EDITOR")),
        "projectMemberRoleChange",
    )
    assert _errors(removal) == _errors(demotion) == [("userId", "CONFLICT")]
    assert await _counts(services, studio.org.organization_id) == before
    # Once there is a second admin, the first may step down
    await studio.lead.run(ROLE, _member_input(studio, studio.editor_id, "ADMIN"))
    stepped = _payload(
        await studio.lead.run(REMOVE, _member_input(studio, studio.lead_id)), "projectMemberRemove"
    )
    assert stepped == {"project": None, "errors": []}  # the lead no longer sees the project


# --- Idempotency-Key and the statement budget -------------------------------------------------------------


async def test_a_replayed_create_that_misses_redis_returns_the_first_project(
    studio: Studio, services: Services
) -> None:
    # Given a project created with an Idempotency-Key, whose stored answer Redis then lost
    variables = {"input": {"key": "ONCE", "name": "Once"}}
    first = (await studio.lead.post(CREATE, variables, **{"idempotency-key": "create-once"})).json()
    before = await _counts(services, studio.org.organization_id)
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    # The replay meets its own key already taken, yet answers with the first project, not a conflict
    replay = (await studio.lead.post(CREATE, variables, **{"idempotency-key": "create-once"})).json()
    assert replay["data"]["projectCreate"]["errors"] == []
    assert replay["data"]["projectCreate"]["project"]["id"] == first["data"]["projectCreate"]["project"]["id"]
    assert await _counts(services, studio.org.organization_id) == before


async def test_each_project_write_stays_within_four_statements_with_every_cache_cold(
    studio: Studio, services: Services
) -> None:
    # Given each project write, with an Idempotency-Key and every cache emptied before it
    project = _pid(studio.project_id)
    writes: list[tuple[str, dict[str, Any]]] = [
        (CREATE, {"input": {"key": "BDG", "name": "Budget", "description": "d"}}),
        (UPDATE, {"input": {"id": project, "name": "Renamed", "description": "d"}}),
        (ARCHIVE, {"input": {"id": project, "archived": True}}),
        (ADD, _member_input(studio, studio.outsider_id, "EDITOR")),
        (ROLE, _member_input(studio, studio.outsider_id, "VIEWER")),
        (REMOVE, _member_input(studio, studio.outsider_id)),
    ]
    for number, (mutation, variables) in enumerate(writes):
        await services.cache.redis.flushdb()
        # When it runs; then it succeeds in at most four statements, the session's read included
        response = await studio.lead.post(
            mutation, variables, **{"idempotency-key": f"project-budget-{number}"}
        )
        body = response.json()
        assert "errors" not in body, body
        assert next(iter(body["data"].values()))["errors"] == [], body
        assert body["extensions"]["sqlStatements"] <= 4, (mutation, body)
