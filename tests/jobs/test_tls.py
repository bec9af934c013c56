"""The jobs' shared TLS context verifies as httpx's default would, and is built once per process."""

from __future__ import annotations

import ssl

import httpx

from jobs.tls import tls_context


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    default = httpx.create_ssl_context()
    # The same trust anchors as httpx's own default client would load
    assert context.cert_store_stats() == default.cert_store_stats()
    assert context.cert_store_stats()["x509_ca"] > 0
