"""The seed's slow-query monitor: a statement over the warning, error or critical threshold is logged
as JSON with its text (placeholders only: parameter values never reach the log), its duration in ms
and, through the log format, the request id (persistence/logs.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from persistence.settings import Settings

log = logging.getLogger("taskql.slow_query")

_STARTED = "taskql_statement_started"


@dataclass(frozen=True)
class SlowQueryThresholds:
    warning_ms: float
    error_ms: float
    critical_ms: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SlowQueryThresholds:
        return cls(
            settings.slow_query_warning_ms, settings.slow_query_error_ms, settings.slow_query_critical_ms
        )

    def level(self, duration_ms: float) -> tuple[int, str] | None:
        if duration_ms > self.critical_ms:
            return logging.CRITICAL, "critical"
        if duration_ms > self.error_ms:
            return logging.ERROR, "error"
        if duration_ms > self.warning_ms:
            return logging.WARNING, "warning"
        return None


def install_slow_query_log(engine: Engine, thresholds: SlowQueryThresholds) -> None:
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        # A stack: a statement inside another's events (none today) would not overwrite its start.
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        started = conn.info.get(_STARTED)
        if not started:
            return
        duration_ms = (time.perf_counter() - started.pop()) * 1000
        level = thresholds.level(duration_ms)
        if level is not None:
            severity, threshold = level
            log.log(
                severity,
                "slow query: %.1f ms",
                duration_ms,
                extra={"statement": statement, "duration_ms": round(duration_ms, 1), "threshold": threshold},
            )

    def failed(context: Any) -> None:
        # A statement that raised has no after-event: its start must not stay for the next one.
        conn = context.connection
        started = conn.info.get(_STARTED) if conn is not None else None
        if started:
            started.pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
