"""What every mutation answers with: the object it touched and the expected failures, by field."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from resolvers.errors import BadUserInput, DomainError, NotFound

T = TypeVar("T")


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


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A use case's value, or the expected failures that kept it from being made."""

    value: T | None
    errors: list[FieldError] = field(default_factory=list)


def _input_field(argument: str | None) -> str | None:
    """``input.eventTypes`` -> ``eventTypes``: the payload error names the input's own field."""
    return None if argument is None else argument.removeprefix("input.")


async def outcome_of(
    call: Awaitable[T],
    *,
    missing_field: str | None,
    refusals: Mapping[type[DomainError], str] | None = None,
) -> Outcome[T]:
    """Runs a use case that raises its expected failures and answers them as payload errors: bad
    input INVALID on the input field it names, a missing (or hidden) object NOT_FOUND on
    ``missing_field`` (the input field that named it), each of ``refusals`` INVALID on its field.
    Authentication, permission and outages stay top-level errors: they are not the input's fault."""
    try:
        return Outcome(await call)
    except BadUserInput as refused:
        return Outcome(None, [FieldError(_input_field(refused.argument), ErrorCode.INVALID, refused.message)])
    except NotFound as missing:
        return Outcome(None, [FieldError(missing_field, ErrorCode.NOT_FOUND, missing.message)])
    except DomainError as failed:
        for kind, field_name in (refusals or {}).items():
            if isinstance(failed, kind):
                return Outcome(None, [FieldError(field_name, ErrorCode.INVALID, failed.message)])
        raise
