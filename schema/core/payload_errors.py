"""The shape every payload's expected failures share."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import strawberry

from resolvers.mutations import ErrorCode, MutationResult, Outcome
from schema.core.described import graphql_enum

graphql_enum(
    ErrorCode,
    name="MutationErrorCode",
    description="What kind of expected failure a payload error is.",
    values={
        "INVALID": "The input breaks a rule (its message says which).",
        "NOT_FOUND": "An object the input names does not exist or is hidden from you.",
        "CONFLICT": "A stale `version`: the object changed since you read it.",
        "TOO_LARGE": "An upload over the size limit.",
        "UNSUPPORTED_MEDIA_TYPE": "An upload of a type not allowed.",
    },
)


@strawberry.interface(
    description="An expected failure: bad input, a missing object it names, a stale version."
)
class MutationError:
    field: str | None = strawberry.field(description="The input field at fault (camelCase), if one is.")
    code: ErrorCode = strawberry.field(description="What kind of failure: stable, for programs.")
    message: str = strawberry.field(description="What went wrong, for people (its wording may change).")


E = TypeVar("E", bound=MutationError)
T = TypeVar("T")


def errors_as(error_type: type[E], result: MutationResult | Outcome[Any]) -> list[E]:
    """The result's expected failures as the mutation's own error type."""
    return [error_type(field=e.field, code=e.code, message=e.message) for e in result.errors]


# Every mutation's one argument, described once: `input: MutationInput[TaskCreateInput]`.
MutationInput = Annotated[T, strawberry.argument(description="The mutation's arguments, as one object.")]
