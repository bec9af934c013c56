"""The shape every payload's expected failures share."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import strawberry

from resolvers.mutations import ErrorCode, MutationResult, Outcome

strawberry.enum(ErrorCode, name="MutationErrorCode")


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
