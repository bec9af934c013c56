"""GraphQL errors as clients see them: a stable ``extensions.code`` on every one, bugs masked.

Strawberry's stock MaskErrors masks every error, limit errors included; this formatter decides by
kind instead: domain errors and request errors keep their message, anything unexpected becomes
INTERNAL_SERVER_ERROR (with the message only in development) and is logged with its traceback.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from graphql import GraphQLError

from persistence.outages import database_unreachable, nothing_was_sent
from resolvers.errors import BadUserInput, DomainError, RateLimited

log = logging.getLogger("taskql.errors")


class Phase(StrEnum):
    PARSE = "parse"
    VALIDATE = "validate"
    EXECUTE = "execute"


INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_CODE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_MESSAGE = f"the database is unavailable just now; retry in {UNAVAILABLE_RETRY_AFTER_SECONDS} s"


def unavailable_body(*, retryable: bool) -> dict[str, Any]:
    """The error of a request the database could not serve. ``retryable``: nothing was applied, or
    the caller knows a retry is safe (a read; a write under an Idempotency-Key)."""
    return error_body(UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, retryable=retryable)


def error_body(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    """An error raised before any GraphQL document ran (bad HTTP request, bad token)."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def format_error(error: GraphQLError, phase: Phase, *, expose_internal: bool) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    if isinstance(original, DomainError):
        formatted["message"] = original.message
        extensions["code"] = original.code
        if isinstance(original, BadUserInput) and original.argument:
            extensions["argument"] = original.argument
        if isinstance(original, RateLimited):
            extensions["retryAfter"] = original.retry_after_seconds
    elif phase is Phase.PARSE:
        extensions["code"] = "GRAPHQL_PARSE_FAILED"
    elif phase is Phase.VALIDATE:
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
    elif original is not None and database_unreachable(original):
        # An outage, not a bug: the client may retry (the view decides when that is safe).
        log.warning("the database could not serve %s: %s", error.path, original)
        formatted["message"] = UNAVAILABLE_MESSAGE
        extensions["code"] = UNAVAILABLE_CODE
        extensions["retryable"] = nothing_was_sent(original)
    elif not error.path and (original is None or isinstance(original, GraphQLError)):
        # Raised while coercing the request's variables, before any resolver ran: graphql-core keeps
        # the scalar's or enum's own GraphQLError as the cause (a bug's exception is masked below).
        extensions["code"] = "BAD_USER_INPUT"
    else:
        extensions["code"] = "INTERNAL_SERVER_ERROR"
        log.error("unexpected error at %s", error.path, exc_info=original or error)
        if not expose_internal:
            formatted["message"] = INTERNAL_MESSAGE
    formatted["extensions"] = extensions
    return formatted


def failed_unexpectedly(payload: dict[str, Any]) -> bool:
    """An answer holding a bug or an outage, not a client's mistake."""
    unexpected = ("INTERNAL_SERVER_ERROR", UNAVAILABLE_CODE)
    return any(e["extensions"]["code"] in unexpected for e in payload.get("errors", ()))
