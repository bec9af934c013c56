"""Domain errors. Each carries the stable ``extensions.code`` the GraphQL edge reports."""

from __future__ import annotations


class DomainError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    """Also what a forbidden object reads as: a caller cannot tell 'hidden' from 'missing'."""

    code = "NOT_FOUND"

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found")


class BadUserInput(DomainError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class RateLimited(DomainError):
    """Too many attempts: the client may try again after ``retry_after_seconds``."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
