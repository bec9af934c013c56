"""Where a traced server's spans go during ``make bench-cpu TRACING=1``: a local OTLP/HTTP endpoint that
reads each export and answers 200, counting them. It runs in the bench's process, on the client's CPU,
so the server's figure holds what tracing costs the server (the spans, their encoding, the POSTs) and
nothing of the collector's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class SinkCounts:
    exports: int = 0
    bytes: int = 0


@contextmanager
def otlp_sink() -> Iterator[tuple[str, SinkCounts]]:
    """The endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``) and what it received, until the block ends."""
    counts = SinkCounts()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a collector answers

        def do_POST(self) -> None:
            size = int(self.headers.get("content-length", "0"))
            self.rfile.read(size)
            with lock:
                counts.exports += 1
                counts.bytes += size
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counts
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
