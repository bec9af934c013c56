"""Validation errors in a bounded answer.

graphql-core reports a rule's error at every occurrence: ten uses of one unknown directive make ten
errors, and a client can make the server build and send as many as its document allows (graphql-core
stops at 100). A client gains nothing from the repeats, so an error whose message was already given
is dropped (one per unknown directive name), and at most ``MAX_VALIDATION_ERRORS`` are answered, the
last of them saying how many more there were.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

MAX_VALIDATION_ERRORS = 10


def bounded_errors(errors: Sequence[GraphQLError]) -> list[GraphQLError]:
    distinct: list[GraphQLError] = []
    seen: set[str] = set()
    for error in errors:
        if error.message not in seen:
            seen.add(error.message)
            distinct.append(error)
    if len(distinct) <= MAX_VALIDATION_ERRORS:
        return distinct
    kept = distinct[: MAX_VALIDATION_ERRORS - 1]
    dropped = len(distinct) - len(kept)
    return [*kept, GraphQLError(f"{dropped} more validation errors were left out; fix these first")]
