"""Every request gets an id: the client's ``X-Request-Id`` when it is a sane token (at most 128
characters of ``[A-Za-z0-9._-]``), else a fresh one. It is bound for the request's log lines
(persistence/logs.py) and returned in the response's ``X-Request-Id``."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from persistence.logs import request_id_bound

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER.encode():
            offered: str = value.decode("latin-1")
            if _SANE.fullmatch(offered):
                return offered
            break
    return uuid.uuid4().hex


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with request_id_bound(request_id):
            await self.app(scope, receive, send_with_id)
