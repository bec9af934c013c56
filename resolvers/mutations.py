"""What every mutation answers with: the object it touched and the expected failures, by field."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ErrorCode(enum.StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    # attachmentUpload: the file is over TASKQL_UPLOAD_MAX_BYTES, or of a type not allowed.
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"


@dataclass(frozen=True)
class FieldError:
    """An expected failure, reported in the payload (not a top-level error): bad input, a missing
    object the input names, a stale version."""

    field: str | None
    code: ErrorCode
    message: str


@dataclass(frozen=True)
class MutationResult:
    """The touched object's id (also on failure, when there is a current object to show) and errors."""

    object_id: int | None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.errors)

    @classmethod
    def failed(
        cls, field_name: str | None, code: ErrorCode, message: str, object_id: int | None = None
    ) -> MutationResult:
        return cls(object_id, [FieldError(field_name, code, message)])
