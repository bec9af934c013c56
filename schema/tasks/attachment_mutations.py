"""attachmentUpload: its file arrives as a multipart request (see schema/http/multipart.py)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from resolvers import attachment_mutations as resolvers
from resolvers import attachments as attachment_reads
from resolvers.attachment_mutations import AttachmentOutcome
from resolvers.context import RequestContext
from schema.core.ids import decode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.tasks.types import Attachment

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `attachmentUpload`.")
class AttachmentUploadError(MutationError):
    pass


@strawberry.type(description="What `attachmentUpload` answers.")
class AttachmentUploadPayload:
    errors: list[AttachmentUploadError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[AttachmentOutcome]

    @strawberry.field(description="The new attachment; null on errors.")
    async def attachment(self, info: Ctx) -> Attachment | None:
        """As written (no read); an older replay without the attachment in its event reads it."""
        outcome = self._outcome
        if outcome.result.errors:
            return None
        if outcome.attachment is not None:
            return Attachment.from_record(outcome.attachment.record)
        found = await attachment_reads.attachment_or_none(info.context, outcome.result.object_id)
        return None if found is None else Attachment.from_record(found)


@strawberry.input(description="What `attachmentUpload` takes.")
class AttachmentUploadInput:
    task_id: strawberry.ID = strawberry.field(description="The task to attach the file to.")
    file: Upload = strawberry.field(
        description="The file part of a multipart request (GraphQL multipart request spec); at most "
        "TASKQL_UPLOAD_MAX_BYTES, of an allowed content type."
    )


@strawberry.type
class AttachmentMutation:
    @strawberry.mutation(
        description="Attaches a file to a task (editors and admins of its project). Send it as a multipart "
        "request with an `Apollo-Require-Preflight` header; TOO_LARGE and UNSUPPORTED_MEDIA_TYPE are "
        "payload errors on `file`."
    )
    async def attachment_upload(
        self,
        info: Ctx,
        input: MutationInput[AttachmentUploadInput],  # noqa: A002
    ) -> AttachmentUploadPayload:
        info.context.require_principal()
        task_id = decode_id(input.task_id, "Task", argument="input.taskId")
        outcome = await resolvers.upload_attachment(info.context, task_id, input.file)
        return AttachmentUploadPayload(
            errors=errors_as(AttachmentUploadError, outcome.result), _outcome=outcome
        )
