"""What a GraphQL request asks (its parameters) and how one is refused before GraphQL runs: the
shapes the HTTP and WebSocket edges and the guard share, free of any transport."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RequestError(Exception):
    """A request that cannot reach GraphQL at all: answered with an HTTP status and one error."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        error_extensions: dict[str, Any] | None = None,
        response_extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        # More about the error (a cost and its limit), and the response's own extensions (the budget).
        self.error_extensions = error_extensions or {}
        self.response_extensions = response_extensions


@dataclass(frozen=True)
class GraphQLParams:
    """One request's parameters. ``query`` is absent when the document is named instead: by
    ``documentId`` (a trusted document) or by ``extensions.persistedQuery.sha256Hash`` (APQ)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    document_id: str | None = None
    extensions: dict[str, Any] | None = None
