"""Connection arguments (first/last/after/before) checked and turned into a page request."""

from __future__ import annotations

from persistence.settings import Settings
from persistence.values import Cursor, PageRequest
from resolvers.errors import BadUserInput


def page_request(
    settings: Settings,
    *,
    first: int | None,
    last: int | None,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> PageRequest:
    if first is not None and last is not None:
        raise BadUserInput("pass either `first` or `last`, not both", argument="first")
    cap = settings.max_page_size
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= cap:
            raise BadUserInput(f"`{name}` must be between 0 and {cap}, got {value}", argument=name)
    if last is not None:
        return PageRequest(size=last, backward=True, after=after, before=before)
    return PageRequest(
        size=settings.default_page_size if first is None else first, after=after, before=before
    )
