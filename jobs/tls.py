"""One TLS context per process for the jobs' HTTP clients (push gateway, webhooks).

httpx builds a fresh ``SSLContext`` for every client it creates, loading the whole CA bundle: about
55 ms of CPU, more than the rest of a push or webhook job together, since each job makes its own
client (clients cannot outlive the event loop the embedded runner makes per job). Passing one shared
context as ``verify`` skips that; a context verifies certificates and host names exactly as httpx's
default does, and is safe to share between clients, threads and event loops.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
