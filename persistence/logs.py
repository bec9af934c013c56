"""Logs: one line per record, each carrying the request id of the request it serves, in one of two
formats for every process (server, worker, cron): JSON objects in production, readable text in
development (``Settings.resolved_log_format``).

Configured once per process through ``logging_config`` (``python -m schema serve`` hands it to
uvicorn, which applies it in every worker; ``python -m jobs.worker`` and ``python -m jobs.cron`` apply
it themselves). Stdlib logging keeps every library's records (uvicorn, RQ, SQLAlchemy) in the same
format with no adapter. Fields given with ``extra=`` become keys of the line (``key=value`` in text).
Colour codes never reach a line: RQ colours its messages on a terminal, and uvicorn adds a coloured
copy of some (``color_message``), which would otherwise land in the JSON.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

_request_id: ContextVar[str | None] = ContextVar("taskql_request_id", default=None)

# A LogRecord's own attributes: everything else on a record came from ``extra=``. uvicorn's
# ``color_message`` is its message again, with colour codes.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

LogFormat = Literal["json", "text"]


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


def _plain(value: str) -> str:
    return _ANSI_ESCAPE.sub("", value) if "\x1b" in value else value


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """What the record carries beyond its own attributes: ``extra=``'s fields, then the request id."""
    fields = {
        key: _plain(value) if isinstance(value, str) else value
        for key, value in vars(record).items()
        if key not in _RECORD_FIELDS and not key.startswith("_")
    }
    request_id = _request_id.get()
    if request_id is not None:
        fields["request_id"] = request_id
    return fields


def _timestamp(record: logging.LogRecord) -> datetime:
    return datetime.fromtimestamp(record.created, UTC)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, the extras, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _plain(record.getMessage()),
            **_extras(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``12:04:05.123 WARNING  taskql.view  the message  key=value request_id=...`` on one line; a
    traceback, when there is one, follows on the next lines."""

    def format(self, record: logging.LogRecord) -> str:
        time = _timestamp(record).astimezone().strftime("%H:%M:%S.%f")[:-3]
        # One line per record: a message with line breaks keeps them escaped.
        message = _plain(record.getMessage()).replace("\n", "\\n")
        line = f"{time} {record.levelname:<8} {record.name}  {message}"
        extras = " ".join(f"{key}={_text_value(value)}" for key, value in _extras(record).items())
        if extras:
            line = f"{line}  {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _text_value(value: object) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return orjson.dumps(text).decode() if not text or any(c in text for c in ' "=\n') else text


def logging_config(level: str = "INFO", log_format: LogFormat = "json") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: every record, uvicorn's too, on stderr in
    ``log_format``."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # By name, so the dictionary also serves as a JSON file for `uvicorn --log-config`.
        "formatters": {"line": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # uvicorn's loggers would otherwise keep the handlers of its own default configuration.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
