"""Structured logs: one JSON object per line, each carrying the request id of the request it serves.

Configured once per process through ``logging_config`` (``python -m schema serve`` hands it to
uvicorn, which applies it in every worker; ``python -m jobs.worker`` applies it itself). Stdlib
logging keeps every library's records (uvicorn, RQ, SQLAlchemy) in the same format with no adapter.
Fields given with ``extra=`` become keys of the line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import orjson

_request_id: ContextVar[str | None] = ContextVar("taskql_request_id", default=None)

# A LogRecord's own attributes: everything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextmanager
def request_id_bound(value: str) -> Iterator[None]:
    token = bind_request_id(value)
    try:
        yield
    finally:
        unbind_request_id(token)


def bind_request_id(value: str) -> Token[str | None]:
    """``request_id_bound`` for the per-request path: no generator and context manager objects per
    request; ``unbind_request_id`` with the token undoes it."""
    return _request_id.set(value)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: every record, uvicorn's too, as JSON on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # By name, so the dictionary also serves as a JSON file for `uvicorn --log-config`.
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # uvicorn's loggers would otherwise keep the handlers of its own default configuration.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
