"""The adapter over strawberry's graphql-transport-ws handler: an operation forgotten twice (its task
ending after the client's `complete` or a shutdown already removed it) is not an error, and neither
is a last message to a client that is gone."""

from __future__ import annotations

from strawberry.http.exceptions import WebSocketDisconnected

from schema.ws.endpoint import _TransportWSHandler


def test_forgetting_an_operation_twice_is_harmless() -> None:
    # Given a handler whose operation was already removed by cleanup_operation
    handler = object.__new__(_TransportWSHandler)
    handler.operations = {"1": object(), "2": object()}  # type: ignore[dict-item]  # only the keys matter
    handler.forget_id("1")
    # When the operation's own task forgets it again as it sends its final message
    handler.forget_id("1")
    # Then nothing raises and only that operation is gone
    assert list(handler.operations) == ["2"]


class _GoneSocket:
    async def send_json(self, message: object) -> None:
        raise WebSocketDisconnected


async def test_a_message_to_a_client_that_is_gone_is_dropped() -> None:
    # Given a subscription whose client disconnected while its final message was being sent
    handler = object.__new__(_TransportWSHandler)
    handler.websocket = _GoneSocket()  # type: ignore[assignment]  # only send_json is used
    # When it sends, then nothing escapes to be logged as a worker task's failure
    await handler.send_message({"id": "1", "type": "complete"})
