"""Every request gets an id: the client's ``X-Request-Id`` when it is a sane token (at most 128
characters of ``[A-Za-z0-9._-]``), else a fresh one. schema/http/edge.py binds it for the request's log
lines (persistence/logs.py) and returns it in the response's ``X-Request-Id``."""

from __future__ import annotations

import re
import secrets

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def request_id(offered: bytes | None) -> str:
    """The offered id (the header's raw value) when sane, else 32 fresh hex digits."""
    if offered is not None and _SANE.fullmatch(offered):
        return offered.decode("ascii")
    return secrets.token_hex(16)
