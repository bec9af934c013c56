"""projectCreate, projectUpdate, projectArchive, projectMemberAdd, projectMemberRemove,
projectMemberRoleChange."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import project_mutations as resolvers
from resolvers import projects as project_reads
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.mutations import MutationResult
from schema.core.enums import ProjectRole
from schema.core.ids import decode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.core.selection import child_names
from schema.projects.types import Project, ProjectMember, project_includes
from schema.users.types import User

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `projectCreate`.")
class ProjectCreateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `projectUpdate`.")
class ProjectUpdateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `projectArchive`.")
class ProjectArchiveError(MutationError):
    pass


@strawberry.type(description="An expected failure of `projectMemberAdd`.")
class ProjectMemberAddError(MutationError):
    pass


@strawberry.type(description="An expected failure of `projectMemberRemove`.")
class ProjectMemberRemoveError(MutationError):
    pass


@strawberry.type(description="An expected failure of `projectMemberRoleChange`.")
class ProjectMemberRoleChangeError(MutationError):
    pass


async def _project(info: Ctx, result: MutationResult) -> Project | None:
    """The project as the write knows it, or as the reader sees it now (one read)."""
    if result.errors or result.object_id is None:
        return None
    if isinstance(result, resolvers.CreatedProject) and result.project is not None:
        return Project.from_record(result.project)
    if isinstance(result, resolvers.WrittenMember) and result.project is not None:
        return Project.from_record(result.project)
    includes = project_includes(child_names(info.selected_fields))
    try:
        return Project.from_record(await project_reads.project(info.context, result.object_id, includes))
    except NotFound:
        return None  # the actor left the project they changed (removed themselves)


def _member(result: MutationResult) -> ProjectMember | None:
    member = result.member if isinstance(result, resolvers.WrittenMember) and not result.errors else None
    return None if member is None else ProjectMember(user=User.from_record(member.user), role=member.role)


@strawberry.type(description="What `projectCreate` answers.")
class ProjectCreatePayload:
    errors: list[ProjectCreateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The new project; its creator is its admin.")
    async def project(self, info: Ctx) -> Project | None:
        return await _project(info, self._result)


@strawberry.type(description="What `projectUpdate` answers.")
class ProjectUpdatePayload:
    errors: list[ProjectUpdateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The project as changed; null on errors.")
    async def project(self, info: Ctx) -> Project | None:
        return await _project(info, self._result)


@strawberry.type(description="What `projectArchive` answers.")
class ProjectArchivePayload:
    errors: list[ProjectArchiveError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The project as it is now; null on errors.")
    async def project(self, info: Ctx) -> Project | None:
        return await _project(info, self._result)


@strawberry.type(description="What `projectMemberAdd` answers.")
class ProjectMemberAddPayload:
    errors: list[ProjectMemberAddError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The new membership; null on errors.")
    def member(self) -> ProjectMember | None:
        return _member(self._result)

    @strawberry.field(description="The project as it is now; null on errors.")
    async def project(self, info: Ctx) -> Project | None:
        return await _project(info, self._result)


@strawberry.type(description="What `projectMemberRemove` answers.")
class ProjectMemberRemovePayload:
    errors: list[ProjectMemberRemoveError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The project as it is now; null on errors.")
    async def project(self, info: Ctx) -> Project | None:
        return await _project(info, self._result)


@strawberry.type(description="What `projectMemberRoleChange` answers.")
class ProjectMemberRoleChangePayload:
    errors: list[ProjectMemberRoleChangeError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The membership as changed; null on errors.")
    def member(self) -> ProjectMember | None:
        return _member(self._result)

    @strawberry.field(description="The project as it is now; null on errors.")
    async def project(self, info: Ctx) -> Project | None:
        return await _project(info, self._result)


@strawberry.input(description="What `projectCreate` takes.")
class ProjectCreateInput:
    key: str = strawberry.field(description="A letter and 1 to 9 letters or digits; unique here.")
    name: str = strawberry.field(description="The project's name.")
    description: str = strawberry.field(default="", description="Free text; may be empty.")


@strawberry.input(description="Only the fields given change.")
class ProjectUpdateInput:
    id: strawberry.ID = strawberry.field(description="The project's id.")
    name: str | None = strawberry.field(default=None, description="A new name; null keeps it.")
    description: str | None = strawberry.field(default=None, description="A new description; null keeps it.")


@strawberry.input(description="What `projectArchive` takes.")
class ProjectArchiveInput:
    id: strawberry.ID = strawberry.field(description="The project's id.")
    archived: bool = strawberry.field(description="True archives it, false restores it.")


@strawberry.input(description="What `projectMemberAdd` takes.")
class ProjectMemberAddInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    user_id: strawberry.ID = strawberry.field(description="An active user of the organization.")
    role: ProjectRole = strawberry.field(description="Their role in the project.")


@strawberry.input(description="What `projectMemberRemove` takes.")
class ProjectMemberRemoveInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    user_id: strawberry.ID = strawberry.field(description="The member to remove.")


@strawberry.input(description="What `projectMemberRoleChange` takes.")
class ProjectMemberRoleChangeInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    role: ProjectRole = strawberry.field(description="Their new role in the project.")


def _ids(project_id: strawberry.ID, user_id: strawberry.ID) -> tuple[int, int]:
    return (
        decode_id(project_id, "Project", argument="input.projectId"),
        decode_id(user_id, "User", argument="input.userId"),
    )


@strawberry.type
class ProjectMutation:
    @strawberry.mutation(description="Organization owners, admins and members; not guests.")
    async def project_create(
        self,
        info: Ctx,
        input: MutationInput[ProjectCreateInput],  # noqa: A002
    ) -> ProjectCreatePayload:
        info.context.require_principal()
        result = await resolvers.create_project(info.context, input.key, input.name, input.description)
        return ProjectCreatePayload(errors=errors_as(ProjectCreateError, result), _result=result)

    @strawberry.mutation(description="The project's admins and organization owners and admins.")
    async def project_update(
        self,
        info: Ctx,
        input: MutationInput[ProjectUpdateInput],  # noqa: A002
    ) -> ProjectUpdatePayload:
        info.context.require_principal()
        project_id = decode_id(input.id, "Project", argument="input.id")
        result = await resolvers.update_project(info.context, project_id, input.name, input.description)
        return ProjectUpdatePayload(errors=errors_as(ProjectUpdateError, result), _result=result)

    @strawberry.mutation(description="Archives (or restores) a project; its tasks stay readable.")
    async def project_archive(
        self,
        info: Ctx,
        input: MutationInput[ProjectArchiveInput],  # noqa: A002
    ) -> ProjectArchivePayload:
        info.context.require_principal()
        project_id = decode_id(input.id, "Project", argument="input.id")
        result = await resolvers.archive_project(info.context, project_id, input.archived)
        return ProjectArchivePayload(errors=errors_as(ProjectArchiveError, result), _result=result)

    @strawberry.mutation(description="An active user of the organization joins the project.")
    async def project_member_add(
        self,
        info: Ctx,
        input: MutationInput[ProjectMemberAddInput],  # noqa: A002
    ) -> ProjectMemberAddPayload:
        info.context.require_principal()
        project_id, user_id = _ids(input.project_id, input.user_id)
        result = await resolvers.add_member(info.context, project_id, user_id, ProjectRole(input.role))
        return ProjectMemberAddPayload(errors=errors_as(ProjectMemberAddError, result), _result=result)

    @strawberry.mutation(description="Never the project's last admin.")
    async def project_member_remove(
        self,
        info: Ctx,
        input: MutationInput[ProjectMemberRemoveInput],  # noqa: A002
    ) -> ProjectMemberRemovePayload:
        info.context.require_principal()
        project_id, user_id = _ids(input.project_id, input.user_id)
        result = await resolvers.remove_member(info.context, project_id, user_id)
        return ProjectMemberRemovePayload(errors=errors_as(ProjectMemberRemoveError, result), _result=result)

    @strawberry.mutation(description="Never demotes the project's last admin.")
    async def project_member_role_change(
        self,
        info: Ctx,
        input: MutationInput[ProjectMemberRoleChangeInput],  # noqa: A002
    ) -> ProjectMemberRoleChangePayload:
        info.context.require_principal()
        project_id, user_id = _ids(input.project_id, input.user_id)
        result = await resolvers.change_member_role(
            info.context, project_id, user_id, ProjectRole(input.role)
        )
        return ProjectMemberRoleChangePayload(
            errors=errors_as(ProjectMemberRoleChangeError, result), _result=result
        )
