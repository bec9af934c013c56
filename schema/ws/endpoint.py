"""GraphQL over WebSockets on /graphql: strawberry's graphql-transport-ws and graphql-ws handlers, with
this service's rules around them.

- Origin: a browser (it always sends ``Origin``) must come from a listed origin (or, in development,
  a local dev server: ``local_origins``). Same-origin is not
  implied, as strawberry would: a DNS-rebinding page is "same origin" with the host it rebinds. No
  ``Origin`` means no browser, so no ambient credentials to abuse: allowed.
- ``connection_init`` carries the token; missing, bad or expired closes with 4401, refused with 4403
  (the legacy protocol sends ``connection_error`` first). It must come within the timeout (4408).
- Subscriptions only, through the same parse and validation cache as HTTP and the same entry point
  (schema/engine/): queries and mutations go over HTTP, where the statement budget, cost and
  idempotency apply.
- At most ``ws_max_subscriptions`` operations per connection: one more gets an error, the connection
  stays. A message over ``ws_max_message_bytes`` closes it with 1009 (uvicorn's ``ws_max_size`` is per
  server and 16 MiB by default; set it in the deployment too, so large frames are not even buffered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from json import JSONDecodeError
from typing import Any, cast

import orjson
from graphql import OperationType, get_operation_ast
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.http.websocket_origin import normalize_origin
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws import types as legacy
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from persistence.metrics import WEBSOCKET_CONNECTIONS, WEBSOCKET_MESSAGES
from persistence.outages import database_unreachable
from persistence.pubsub import PubSubHub
from resolvers import subscriptions
from resolvers.context import Services
from resolvers.errors import Forbidden, Unauthenticated
from resolvers.subscriptions import ConnectionContext
from schema.core.errors import INTERNAL_MESSAGE, error_body, unavailable_body
from schema.engine.execute import Execution
from schema.guard.documents import DocumentCache
from schema.ws.execution import HandlerSchema
from schema.ws.outbox import SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON, Outbox

log = logging.getLogger("taskql.websocket")
_RECEIVED = WEBSOCKET_MESSAGES.labels("in")
_SENT = WEBSOCKET_MESSAGES.labels("out")

INIT_TIMEOUT_CODE = 4408
TOO_MANY_INITS_CODE = 4429
MESSAGE_TOO_BIG_CODE = 1009
POLICY_VIOLATION_CODE = 1008
TRY_AGAIN_LATER_CODE = 1013  # the database is unavailable at connection_init: graphql-ws clients retry
# How long a closing message waits for the frames queued before it (and a close for its socket).
CLOSE_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class Refusal:
    close_code: int
    reason: str
    error: dict[str, Any]


def _view(handler: _TransportWSHandler | _LegacyWSHandler) -> WebSocketView:
    return cast("WebSocketView", handler.view)


class _TransportWSHandler(BaseGraphQLTransportWSHandler[ConnectionContext, None]):
    """graphql-transport-ws (the graphql-ws library's protocol)."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}  # the protocol allows no payload, or null: no token
        if self.connection_init_received or self.connection_timed_out or not isinstance(payload, dict):
            await super().handle_connection_init(message)  # 4429, ignored, or 4400: strawberry's answers
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()  # it came in time; the token check may take a moment
        refusal = await _view(self).admit(self.context, payload)
        if refusal is not None:
            await self.websocket.close(code=refusal.close_code, reason=refusal.reason)
            return
        await super().handle_connection_init(message)

    async def send_message(self, message: Message) -> None:
        # A subscription's last message (its `complete`, after a shutdown cancelled it) may find the
        # client gone; strawberry lets that escape from the worker task as a logged traceback.
        with contextlib.suppress(WebSocketDisconnected):
            await super().send_message(message)

    def forget_id(self, id: str) -> None:  # noqa: A002 - strawberry's signature
        # Strawberry's own `del` raises KeyError when an operation's task completes after
        # cleanup_operation already popped it (a client or a shutdown cancelling a subscription
        # that was about to end), and logs a traceback from the worker task: forgetting twice is fine.
        self.operations.pop(id, None)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        operation_id = message["id"]
        if self.connection_acknowledged and operation_id not in self.operations:
            errors = _view(self).refusal(message["payload"], running=len(self.operations))
            if errors is not None:
                await self.send_message(
                    cast("Message", {"id": operation_id, "type": "error", "payload": errors})
                )
                return
        await super().handle_subscribe(message)  # unacknowledged: 4401; a duplicate id: 4409


class _LegacyWSHandler(BaseGraphQLWSHandler[ConnectionContext, None]):
    """graphql-ws (Apollo's subscriptions-transport-ws). Strawberry's handler has no init timeout and
    takes connection_init more than once; this one times out and refuses a second init, as the newer
    protocol does."""

    init_seen = False

    async def handle(self) -> None:
        deadline = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            deadline.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await deadline

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(_view(self).init_timeout_seconds)
        if not self.init_seen:
            await self.websocket.close(code=INIT_TIMEOUT_CODE, reason="Connection initialisation timeout")

    async def handle_connection_init(self, message: legacy.ConnectionInitMessage) -> None:
        if self.init_seen:
            await self.websocket.close(code=TOO_MANY_INITS_CODE, reason="Too many initialisation requests")
            return
        self.init_seen = True
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await super().handle_connection_init(message)  # strawberry's connection_error
            return
        refusal = await _view(self).admit(self.context, payload or {})
        if refusal is not None:
            error = cast(
                "legacy.ConnectionErrorMessage", {"type": "connection_error", "payload": refusal.error}
            )
            await self.send_message(error)
            await self.websocket.close(code=refusal.close_code, reason=refusal.reason)
            return
        await super().handle_connection_init(message)

    async def handle_start(self, message: legacy.StartMessage) -> None:
        operation_id = message["id"]
        if self.connection_acknowledged:
            running = len(self.tasks) - (1 if operation_id in self.tasks else 0)  # a reused id replaces
            errors = _view(self).refusal(message.get("payload"), running=running)
            if errors is not None:
                error = {"type": "error", "id": operation_id, "payload": errors[0]}
                await self.send_message(cast("legacy.ErrorMessage", error))
                return
        await super().handle_start(message)  # unacknowledged: 4401


class _BoundedAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, with a size limit on every message the client sends and a bounded outbox
    (schema/ws/outbox.py) for every message it is sent."""

    def __init__(
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, None, None],
        request: WebSocket,
        response: WebSocket,
    ) -> None:
        super().__init__(view, request, response)
        ours = cast("WebSocketView", view)
        self.outbox = Outbox(
            response.send_text, max_frames=ours.send_queue_frames, max_lag_seconds=ours.send_lag_seconds
        )
        # For the connection's context, which strawberry builds next from the same request.
        request.state.outbox = self.outbox

    async def send_json(self, message: Mapping[str, object]) -> None:
        frame = self.view.encode_json(message)
        self.outbox.put(frame if isinstance(frame, str) else frame.decode())

    async def close(self, code: int, reason: str) -> None:
        await self.outbox.flush(CLOSE_FLUSH_SECONDS)  # what was said before the close goes first
        await self.outbox.stop()
        await self.ws.close(code=code, reason=reason)

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        """The client's messages until it leaves or the connection falls behind (then closed 1013)."""
        fell_behind = asyncio.ensure_future(self.outbox.fell_behind.wait())
        try:
            async for text in self._texts(fell_behind):
                try:
                    decoded = self.view.decode_json(text)
                except JSONDecodeError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
                    continue
                yield decoded
        finally:
            fell_behind.cancel()
            await self.outbox.stop()
        if fell_behind.done() and not fell_behind.cancelled():
            await self._close_slow_consumer()

    async def _texts(self, fell_behind: asyncio.Future[Any]) -> AsyncGenerator[str, None]:
        limit = cast("WebSocketView", self.view).max_message_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                received = asyncio.ensure_future(self.ws.receive_text())
                await asyncio.wait((received, fell_behind), return_when=asyncio.FIRST_COMPLETED)
                if not received.done():
                    received.cancel()
                    return
                text = received.result()
                if len(text) > limit or len(text.encode()) > limit:
                    await self.close(MESSAGE_TOO_BIG_CODE, "Message too big")
                    return
                yield text
        except KeyError as error:  # a binary frame has no "text"
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass

    async def _close_slow_consumer(self) -> None:
        """The close frame waits for the socket like any frame: a client that reads again within the
        lag bound gets it; one that reads nothing at all does not, and its connection is dropped when
        the handler returns."""
        log.info("closed a WebSocket that fell behind its subscriptions (%s)", SLOW_CONSUMER_REASON)
        with contextlib.suppress(TimeoutError, RuntimeError, WebSocketDisconnect):
            async with asyncio.timeout(self.outbox.max_lag_seconds):
                await self.ws.close(code=SLOW_CONSUMER_CODE, reason=SLOW_CONSUMER_REASON)


class WebSocketView(GraphQL[ConnectionContext, None]):
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler
    websocket_adapter_class = _BoundedAdapter

    def __init__(
        self, services: Services, hub: PubSubHub, documents: DocumentCache, execution: Execution
    ) -> None:
        settings = services.settings
        super().__init__(
            # The handlers call only `stream` and `subscribe` on their schema: HandlerSchema's.
            cast("BaseSchema", HandlerSchema(documents, execution)),
            graphql_ide=None,
            allow_queries_via_get=False,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            allowed_origins=settings.websocket_origins,
        )
        self.services = services
        self.hub = hub
        self.documents = documents
        pattern = settings.local_origin_pattern
        self.local_origin = None if pattern is None else re.compile(pattern)
        self.init_timeout_seconds = settings.ws_connection_init_timeout_seconds
        self.max_subscriptions = settings.ws_max_subscriptions
        self.max_message_bytes = settings.ws_max_message_bytes
        self.send_queue_frames = settings.ws_send_queue_frames
        self.send_lag_seconds = settings.ws_send_lag_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        origin = websocket.headers.get("origin")
        if origin is not None and not self._origin_listed(origin):
            log.warning("refused a WebSocket from origin %r (not an allowed origin)", origin)
            await websocket.close(code=POLICY_VIOLATION_CODE)  # before accept: the handshake gets 403
            return
        WEBSOCKET_CONNECTIONS.inc()
        try:
            await super().__call__(scope, receive, send)
        finally:
            WEBSOCKET_CONNECTIONS.dec()

    def _origin_listed(self, origin: str) -> bool:
        if "*" in self.allowed_origins or normalize_origin(origin) in self.allowed_origins:
            return True
        return self.local_origin is not None and self.local_origin.fullmatch(origin) is not None

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """Strawberry's own check after ours: the same rule, local dev servers included."""
        return self._origin_listed(origin)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> ConnectionContext:
        client = request.client.host if request.client else None
        outbox: Outbox | None = getattr(request.state, "outbox", None)
        return ConnectionContext(
            self.services, self.hub, client_address=client, room=None if outbox is None else outbox.room
        )

    def decode_json(self, data: str | bytes) -> object:
        # orjson bounds nesting (a JSONDecodeError, where json.loads would raise RecursionError).
        _RECEIVED.inc()
        return orjson.loads(data)

    def encode_json(self, data: object) -> str:
        _SENT.inc()
        return orjson.dumps(data).decode()  # text frames: GraphQL WebSocket clients expect text

    async def admit(self, context: ConnectionContext, params: Mapping[str, object]) -> Refusal | None:
        """The token check at connection_init; None lets the connection in."""
        try:
            await subscriptions.connect(context, params)
        except Unauthenticated as error:
            return Refusal(4401, "Unauthorized", error_body(error.code, error.message))
        except Forbidden as error:
            return Refusal(4403, "Forbidden", error_body(error.code, error.message))
        except Exception as error:
            if database_unreachable(error):
                # An outage, as over HTTP: the client may connect again shortly.
                log.warning("connection_init met the database unavailable: %s", error)
                return Refusal(TRY_AGAIN_LATER_CODE, "Try Again Later", unavailable_body(retryable=True))
            log.exception("connection_init failed")
            return Refusal(1011, "Internal error", error_body("INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE))
        return None

    def refusal(self, payload: object, *, running: int) -> list[dict[str, Any]] | None:
        """Why this operation may not start here (as GraphQL errors), or None."""
        if running >= self.max_subscriptions:
            message = f"at most {self.max_subscriptions} subscriptions per connection"
            return [error_body("LIMIT_EXCEEDED", message)]
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str):
            return [error_body("BAD_USER_INPUT", "the payload needs a `query` string")]
        prepared = self.documents.get(query)
        if prepared.document is None:
            return prepared.errors
        operation_name = payload.get("operationName") if isinstance(payload, dict) else None
        operation = get_operation_ast(
            prepared.document, operation_name if isinstance(operation_name, str) else None
        )
        if operation is None:
            return [error_body("BAD_USER_INPUT", "name the operation to run with `operationName`")]
        if operation.operation is not OperationType.SUBSCRIPTION:
            return [error_body("BAD_USER_INPUT", "queries and mutations run over HTTP, not WebSocket")]
        return None
