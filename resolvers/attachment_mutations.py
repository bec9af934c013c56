"""attachmentUpload: a file the edge received (streamed to a staging file, hashed, size-checked) becomes
an attachment row and a ``task.attached`` event in one unit of work.

The file is moved to its storage key just before that unit of work and removed again unless it is this
request that committed the row: a refused, denied, failed or replayed upload leaves no file behind. (A
process killed between the move and the commit can leave a file without a row, never a row without its
file.)
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from persistence.queries import attachment_writes as queries
from persistence.queries import task_writes
from persistence.queries.attachment_writes import NewAttachment
from persistence.records import AttachmentRecord
from persistence.settings import Settings
from persistence.storage import FileStore, StagingFile
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, Forbidden
from resolvers.mutations import ErrorCode, MutationResult
from resolvers.writes import Write, run_write

# TaskEventKind.ATTACHED: subscribers of `taskEvents` see it as ATTACHED.
EVENT = "task.attached"
FILENAME_MAX = 255
_FALLBACK_FILENAME = "attachment"


def clean_filename(raw: str | None) -> str:
    """The last path segment, without control or format characters, at most 255 characters."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(text) > FILENAME_MAX:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 16 and stem:
            text = stem[: FILENAME_MAX - len(extension) - 1] + "." + extension
        else:
            text = text[:FILENAME_MAX]
    return text or _FALLBACK_FILENAME


def media_type(raw: str | None) -> str:
    """The media type without parameters, lower case; application/octet-stream when none is given."""
    essence = (raw or "").split(";", 1)[0].strip().lower()
    return essence or "application/octet-stream"


def accepts_media_type(settings: Settings, essence: str) -> bool:
    return essence in settings.upload_allowed_content_types


@dataclass
class ReceivedFile:
    """One file of a multipart request as the edge received it. ``rejected`` says why it was not kept
    (then ``staged`` is None); otherwise ``staged`` holds its bytes, complete and fsynced."""

    filename: str
    content_type: str
    storage_key: str
    staged: StagingFile | None = None
    rejected: ErrorCode | None = None

    def description(self) -> dict[str, Any]:
        """What identifies the file in an Idempotency-Key's request hash."""
        if self.staged is None:
            return {"filename": self.filename, "contentType": self.content_type, "rejected": self.rejected}
        return {
            "filename": self.filename,
            "contentType": self.content_type,
            "size": self.staged.size,
            "sha256": self.staged.sha256,
        }

    def discard(self) -> None:
        """Removes the staging file if it is still there (blocking I/O)."""
        if self.staged is not None:
            self.staged.discard()


@dataclass(frozen=True)
class StoredAttachment:
    """The row as this request wrote it: the payload needs no read."""

    id: int
    task_id: int
    uploader_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime

    @property
    def record(self) -> AttachmentRecord:
        return AttachmentRecord(
            self.id, self.filename, self.content_type, self.size_bytes, self.sha256, self.created_at
        )


@dataclass(frozen=True)
class AttachmentOutcome:
    result: MutationResult
    # The attachment as written (by this request, or for a replay by the first one); None on failure.
    attachment: StoredAttachment | None = None
    # Whether this request committed it: a replay's file is not kept.
    created: bool = False

    @property
    def refused(self) -> bool:
        return self.result.refused


def _rejection(file: ReceivedFile, settings: Settings) -> AttachmentOutcome:
    if file.rejected is ErrorCode.TOO_LARGE:
        message = f"the file is larger than {settings.upload_max_bytes} bytes"
    else:
        message = f"files of type {file.content_type} are not accepted"
    code = file.rejected or ErrorCode.INVALID
    return AttachmentOutcome(MutationResult.failed("file", code, message))


def _event_payload(stored: StoredAttachment) -> dict[str, Any]:
    """The activity entry, complete enough that a replay answers from it without another read."""
    return {
        "attachment_id": stored.id,
        "action": "created",
        "filename": stored.filename,
        "content_type": stored.content_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256,
    }


def _replayed(event: Any) -> AttachmentOutcome:
    """The first execution's answer, as the Redis copy of it would have been (no visibility re-check)."""
    payload = event.payload
    stored = StoredAttachment(
        payload["attachment_id"],
        event.task_id,
        event.actor_id,
        payload["filename"],
        payload["content_type"],
        payload["size_bytes"],
        payload["sha256"],
        event.created_at,
    )
    return AttachmentOutcome(MutationResult(stored.id), stored)


async def upload_attachment(ctx: RequestContext, task_id: int, file: object) -> AttachmentOutcome:
    """Editors and admins of the task's project attach files; viewers may not."""
    if not isinstance(file, ReceivedFile):
        raise BadUserInput(
            "send the file in a multipart request (GraphQL multipart request spec)", argument="input.file"
        )
    if file.rejected is not None or file.staged is None:
        return _rejection(file, ctx.settings)
    staged = file.staged
    scope = ctx.require_principal().scope
    new = NewAttachment(file.filename, file.content_type, staged.size, staged.sha256, file.storage_key)

    async def write_attachment(write: Write) -> AttachmentOutcome:
        attachment_id = await queries.insert_attachment(write.conn, scope, task_id, new, write.now)
        if attachment_id is None:
            return await _why_not_created(write, task_id)
        stored = StoredAttachment(
            attachment_id,
            task_id,
            scope.user_id,
            new.filename,
            new.content_type,
            new.size_bytes,
            new.sha256,
            write.now,
        )
        await write.record_task(EVENT, task_id, _event_payload(stored))
        return AttachmentOutcome(MutationResult(attachment_id), stored, created=True)

    store = FileStore(ctx.settings.upload_root)
    await asyncio.to_thread(store.place, staged, file.storage_key)
    outcome: AttachmentOutcome | None = None
    try:
        outcome = await run_write(ctx, write_attachment, on_replay=_replayed)
    finally:
        if outcome is None or not outcome.created:
            await asyncio.to_thread(store.remove, file.storage_key)
    return outcome


async def _why_not_created(write: Write, task_id: int) -> AttachmentOutcome:
    state = await task_writes.task_write_state(write.conn, write.principal.scope, task_id)
    if state is None or state.deleted:
        return AttachmentOutcome(MutationResult.failed("taskId", ErrorCode.NOT_FOUND, "task not found"))
    if not state.may_edit:
        raise Forbidden("you may not attach files in this project")
    message = "something this write depends on changed while it ran; nothing was written, try again"
    return AttachmentOutcome(MutationResult.failed("taskId", ErrorCode.CONFLICT, message))
