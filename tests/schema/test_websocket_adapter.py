"""The adapter over strawberry's graphql-transport-ws handler: an operation forgotten twice (its task
ending after the client's `complete` or a shutdown already removed it) is not an error."""

from __future__ import annotations

from schema.websocket import _TransportWSHandler


def test_forgetting_an_operation_twice_is_harmless() -> None:
    # Given a handler whose operation was already removed by cleanup_operation
    handler = object.__new__(_TransportWSHandler)
    handler.operations = {"1": object(), "2": object()}  # type: ignore[dict-item]  # only the keys matter
    handler.forget_id("1")
    # When the operation's own task forgets it again as it sends its final message
    handler.forget_id("1")
    # Then nothing raises and only that operation is gone
    assert list(handler.operations) == ["2"]
