"""The webhook rules that need no worker: the retry policy's waits, the address checks (resolved by the
system's own getaddrinfo) and the pinned target, and the signature a receiver recomputes."""

from __future__ import annotations

import ipaddress
import time

import pytest

from jobs.queues import WEBHOOK_RETRY
from jobs.ssrf import UrlNotAllowed, forbidden_reason, resolve_target
from jobs.webhook_sender import signature
from tests.jobs.receiver import verify

REFUSED_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/",
    "http://[::1]:9000/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
]


def test_webhook_retries_five_times_doubling_up_to_1800_seconds_without_jitter() -> None:
    assert (WEBHOOK_RETRY.max_retries, WEBHOOK_RETRY.backoff_max_seconds) == (5, 1800)
    assert WEBHOOK_RETRY.delays(30.0) == [30, 60, 120, 240, 480]
    assert WEBHOOK_RETRY.delays(300.0) == [300, 600, 1200, 1800, 1800]
    # No jitter: the same waits every time.
    assert {tuple(WEBHOOK_RETRY.delays(30.0)) for _ in range(20)} == {(30, 60, 120, 240, 480)}
    retry = WEBHOOK_RETRY.retry(0.01)
    assert (retry.max, retry.intervals) == (5, [1, 1, 1, 1, 1])


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_urls_reaching_our_own_network_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed, match="webhooks may not reach"):
        resolve_target(url, allowed_hosts=[])


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/", "file:///etc/passwd", "http:///nohost", "http://user:pw@93.184.216.34/"]
)
def test_other_schemes_and_forms_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        resolve_target(url, allowed_hosts=[])


def test_an_allowed_host_is_exempt_by_name_only_and_still_pinned() -> None:
    target = resolve_target("http://127.0.0.1:8080/hook?x=1", allowed_hosts=["127.0.0.1"])
    assert target.address == ipaddress.ip_address("127.0.0.1")
    assert target.pinned_url == "http://127.0.0.1:8080/hook?x=1"
    # Another name for the same address is not exempt.
    with pytest.raises(UrlNotAllowed):
        resolve_target("http://localhost:8080/hook", allowed_hosts=["127.0.0.1"])
    # An allowed name connects to the address it resolved to, and keeps its name in the Host header.
    named = resolve_target("https://localhost:8443/", allowed_hosts=["localhost"])
    assert named.address.is_loopback
    assert named.host_header == "localhost:8443"
    assert named.pinned_url.startswith(("https://127.0.0.1:8443/", "https://[::1]:8443/"))


def test_public_addresses_pass() -> None:
    for literal in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert forbidden_reason(ipaddress.ip_address(literal)) is None
    target = resolve_target("https://93.184.216.34/in", allowed_hosts=[])
    assert (target.host_header, target.pinned_url) == ("93.184.216.34", "https://93.184.216.34:443/in")


def test_the_signature_covers_timestamp_and_body() -> None:
    body = b'{"id":"whd_1"}'
    now = int(time.time())
    headers = {"taskql-timestamp": str(now), "taskql-signature": signature("s3cret", now, body)}
    assert verify("s3cret", headers, body)
    assert not verify("other", headers, body)
    assert not verify("s3cret", headers, body + b" ")
    # The same body signed at another time is another signature: a replay must bring its timestamp.
    assert signature("s3cret", now, body) != signature("s3cret", now - 1, body)
    stale = {"taskql-timestamp": str(now - 3600), "taskql-signature": signature("s3cret", now - 3600, body)}
    assert not verify("s3cret", stale, body)
